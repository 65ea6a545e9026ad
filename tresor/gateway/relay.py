"""Relaying an upstream answer to the client: whole bodies and SSE streams, same-format or translated.

Same-format bodies and stream bytes go out byte-identical (streams are cut at event boundaries and
flushed one event at a time). Translated traffic goes parse (downstream module) -> IR -> render
(client module). Errors before the first streamed byte become real HTTP errors in the client's
format (the "hold" of reference §3.14); errors after it become the client format's stream error.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

from tresor import formats
from tresor.errors import PluginError, UpstreamError
from tresor.formats import ir, sse
from tresor.gateway import keepalive, pipeline
from tresor.gateway.exchange import Exchange
from tresor.httpio import Response, json_response

log = logging.getLogger("tresor.gateway")

# Upstream response headers never relayed: hop-by-hop, framing we recompute, and headers our own
# server sets (a duplicate Date/Server confuses some clients).
_SKIP_RESPONSE = frozenset(("connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
                            "date", "server", "proxy-connection", "te", "trailer", "upgrade", "alt-svc",
                            "strict-transport-security", "set-cookie"))
_USEFUL_PREFIXES = ("request-id", "x-request-id", "retry-after", "x-ratelimit", "anthropic-ratelimit",
                    "ratelimit", "openai-processing-ms", "x-goog-")
_ANTHROPIC_ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429, "invalid_request_error": 400,
                           "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
                           "request_too_large": 413, "api_error": 500}
_USAGE_MARKERS = (b'"usage"', b'"usageMetadata"')
ANTHROPIC_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens")


def respond(engine, x: Exchange, upstream) -> Response:
    """Turn the upstream response into the client's Response (streamed when the upstream streams)."""
    if x.is_stream and upstream.status == 200 and upstream.is_event_stream:
        return _stream(engine, x, upstream)
    started = time.perf_counter()
    try:
        raw = upstream.read()
    finally:
        upstream.close()
        x.upstream_s += time.perf_counter() - started
    if x.tee is not None:
        x.tee.add(raw)
    if upstream.status >= 400:
        return _error(engine, x, upstream, raw)
    _scrape_usage(x, raw)
    if not pipeline.has_hook(x.steps, "response"):
        return with_overhead(x, Response(upstream.status, _relayed_headers(upstream, x, keep_all=not x.is_translated), raw))
    obj = _json_or_none(raw)
    if not isinstance(obj, dict):
        return engine.error_response(x, ir.Error(502, "downstream %s returned a response that is not JSON"
                                                 % x.route.downstream.id, "api_error"))
    body = pipeline.run_response(x.steps, x, obj)
    return with_overhead(x, json_response(upstream.status, body, _relayed_headers(upstream, x, keep_all=False)))


def with_overhead(x: Exchange, response: Response) -> Response:
    """`response` with the x-tresor-overhead-ms header (time in Tresor so far, upstream excluded)."""
    response.headers.append(("x-tresor-overhead-ms", "%.3f" % x.overhead_ms()))
    return response


def _error(engine, x: Exchange, upstream, raw: bytes) -> Response:
    x.error = "upstream HTTP %d" % upstream.status
    if not x.is_translated:
        return with_overhead(x, Response(upstream.status, _relayed_headers(upstream, x, keep_all=True), raw))
    obj = _json_or_none(raw)
    error = formats.get(x.downstream_format).parse_error(upstream.status, obj if obj is not None else
                                                         raw.decode("utf-8", "replace")[:2000])
    error.status = upstream.status
    response = engine.error_response(x, error)
    response.headers.extend(_relayed_headers(upstream, x, keep_all=False))
    return with_overhead(x, response)


def _relayed_headers(upstream, x: Exchange, keep_all: bool) -> List[Tuple[str, str]]:
    out = []
    for name, value in upstream.headers:
        lower = name.lower()
        if lower in _SKIP_RESPONSE:
            continue
        if keep_all or lower.startswith(_USEFUL_PREFIXES):
            out.append((name, value))
    return out


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _merge_usage(x: Exchange, usage: Optional[ir.Usage]) -> None:
    if usage is None:
        return
    for name in USAGE_FIELDS:
        value = getattr(usage, name)
        if value is not None:
            x.usage[name] = value


def _scrape_usage(x: Exchange, raw: bytes) -> None:
    # Only payloads that mention usage are decoded, so relaying stays cheap.
    if x.downstream_format is None or not any(m in raw for m in _USAGE_MARKERS):
        return
    obj = _json_or_none(raw)
    if isinstance(obj, dict):
        _merge_usage(x, formats.get(x.downstream_format).parse_usage(obj))


def read_event(readline: Callable[[], bytes]) -> Tuple[List[bytes], Optional[str], Optional[str]]:
    """Raw lines of the next event with data (comments before it included), its data and event name."""
    lines: List[bytes] = []
    data: List[str] = []
    event = None
    while True:
        line = readline()
        if not line:
            return lines, ("\n".join(data) if data else None), event
        lines.append(line)
        text = line.rstrip(b"\r\n")
        if not text:
            if data:
                return lines, "\n".join(data), event
            continue
        if text.startswith(b"data:"):
            data.append(text[5:].decode("utf-8", "replace").lstrip(" "))
        elif text.startswith(b"event:"):
            event = text[6:].decode("utf-8", "replace").strip()


def in_band_error(data: Optional[str], event: Optional[str]) -> Optional[Tuple[int, Any]]:
    """(status, payload) when an SSE event is an error (reference §3.14), else None."""
    if data is None or ("error" not in data and event not in ("error", "response.failed")):
        return None
    obj = _json_or_none(data.encode("utf-8"))
    is_error = event in ("error", "response.failed") or (
        isinstance(obj, dict) and (obj.get("type") == "error" or obj.get("error")))
    if not is_error:
        return None
    return _error_status(obj), obj


def _error_status(obj: Any) -> int:
    if not isinstance(obj, dict):
        return 502
    inner = obj.get("error") if isinstance(obj.get("error"), dict) else (
        (obj.get("response") or {}).get("error") if isinstance(obj.get("response"), dict) else None) or {}
    for candidate in (inner.get("code"), obj.get("code"), obj.get("status"), inner.get("status")):
        try:
            value = int(candidate)
        except (TypeError, ValueError):
            continue
        if 400 <= value <= 599:
            return value
    return _ANTHROPIC_ERROR_STATUS.get(inner.get("type"), 502)


def _stream(engine, x: Exchange, upstream) -> Response:
    started = time.perf_counter()
    try:
        lines, data, event = read_event(upstream.readline)
    except UpstreamError:
        upstream.close()
        raise
    finally:
        x.upstream_s += time.perf_counter() - started
    failed = opening_error(engine, x, upstream, data, event)
    if failed is not None:
        return failed
    headers = stream_headers(x, upstream)
    if pipeline.has_hook(x.steps, "stream"):
        body = keepalive.StreamBody(_transformed(engine, x, upstream, lines), upstream.abort)
        if x.client_format == "anthropic" and x.downstream_format != "anthropic":
            # Anthropic clients expect pings while a translated upstream is silent (SPEC §3).
            body.ping, body.interval = ANTHROPIC_PING, engine.ping_interval_s
    else:
        body = keepalive.StreamBody(_passthrough(engine, x, upstream, lines), upstream.abort)
    return with_overhead(x, Response(200, headers, body))


def opening_error(engine, x: Exchange, upstream, data: Optional[str], event: Optional[str]) -> Optional[Response]:
    """The error Response (upstream closed) when a stream ended or failed before its first event
    with data (`data` None, or an in-band error), else None: the stream can start."""
    failure = in_band_error(data, event)
    if data is not None and failure is None:
        return None
    upstream.close()
    status, obj = failure or (502, None)
    message = "downstream %s closed the stream before sending any event" % x.route.downstream.id
    error = formats.get(x.downstream_format).parse_error(status, obj) if obj is not None else \
        ir.Error(502, message, "api_error")
    error.status = status
    x.error = "upstream stream error"
    return with_overhead(x, engine.error_response(x, error))


def stream_headers(x: Exchange, upstream) -> List[Tuple[str, str]]:
    """The client's response headers for a stream (SSE, no caching, the upstream's useful headers)."""
    return [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"),
            ("X-Accel-Buffering", "no")] + _relayed_headers(upstream, x, keep_all=False)


def count_event(x: Exchange, chunk: bytes) -> None:
    """Account one relayed event: usage tokens, bytes out, and the capture copy."""
    _scrape_event_usage(x, chunk)
    x.bytes_out += len(chunk)
    if x.tee is not None:
        x.tee.add(chunk)


def _passthrough(engine, x: Exchange, upstream, held: List[bytes]) -> Iterator[bytes]:
    """Relay the upstream's SSE bytes unchanged, one event per chunk, scraping usage on the way."""
    client = formats.get(x.client_format) if x.client_format else None
    chunk = b"".join(held)
    try:
        x.first_byte_s = time.perf_counter()
        count_event(x, chunk)
        yield chunk
        pending: List[bytes] = []
        for line in iter(upstream.readline, b""):
            pending.append(line)
            if line in (b"\n", b"\r\n"):
                chunk = b"".join(pending)
                pending = []
                count_event(x, chunk)
                yield chunk
        if pending:
            yield b"".join(pending)
    except UpstreamError as e:
        x.error = e.message
        if client is not None:
            yield client.render_stream_error(ir.Error(e.status, e.message, "api_error")).encode()
    finally:
        upstream.close()
        engine.record(x, 200, x.bytes_out)


def _scrape_event_usage(x: Exchange, chunk: bytes) -> None:
    if x.downstream_format is None or not any(m in chunk for m in _USAGE_MARKERS):
        return
    for line in chunk.split(b"\n"):
        if line.startswith(b"data:") and any(m in line for m in _USAGE_MARKERS):
            obj = _json_or_none(line[5:])
            if isinstance(obj, dict):
                _merge_usage(x, formats.get(x.downstream_format).parse_usage(obj))


def _transformed(engine, x: Exchange, upstream, held: List[bytes]) -> Iterator[bytes]:
    """Downstream SSE -> the pipeline's stream hooks (converters included) -> client SSE, event by event."""
    client = formats.get(x.client_format) if x.client_format else None
    queue = list(reversed(held))

    def readline() -> bytes:
        line = queue.pop() if queue else upstream.readline()
        if x.tee is not None:
            x.tee.add(line)
        return line

    events = pipeline.run_stream(x.steps, x, _tap_usage(x, sse.iter_events(readline)))
    try:
        for event in events:
            raw = event.encode()
            if x.first_byte_s is None:
                x.first_byte_s = time.perf_counter()
            x.bytes_out += len(raw)
            yield raw
    except (UpstreamError, PluginError) as e:
        x.error = e.message
        if client is not None:
            status = e.status if isinstance(e, UpstreamError) else 500
            yield client.render_stream_error(ir.Error(status, e.message, "api_error")).encode()
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        upstream.close()
        engine.record(x, 200, x.bytes_out)


def _tap_usage(x: Exchange, events: Iterator[sse.SSEEvent]) -> Iterator[sse.SSEEvent]:
    """Read usage from the downstream's own events before any plugin sees them."""
    parse_usage = formats.get(x.downstream_format).parse_usage if x.downstream_format else None
    for event in events:
        if parse_usage is not None and ('"usage' in event.data):
            obj = _json_or_none(event.data.encode("utf-8"))
            if isinstance(obj, dict):
                _merge_usage(x, parse_usage(obj))
        yield event
