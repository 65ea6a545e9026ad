"""The gateway request lifecycle, in named steps: classify, authenticate, read, resolve, choose the
format, build the upstream request, send, relay. Each step calls into the module that owns it.

`Engine.handle(request) -> Response` is the one error boundary of the gateway: ClientError and
UpstreamError become errors in the client's API format; nothing escapes as a dropped connection.
`state` supplies the live settings: `.config`, `.routes` (RoutingTable), `.pool`, `.log`.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union

from tresor import formats
from tresor.errors import ClientError, PluginError, UpstreamError
from tresor.formats import ir
from tresor.gateway import jsonbody, models, paths, pipeline, relay, routing
from tresor.gateway.exchange import Exchange
from tresor.httpio import Request, Response, json_response

log = logging.getLogger("tresor.gateway")

CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, PATCH, OPTIONS"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type, x-api-key, x-goog-api-key, anthropic-version, "
     "anthropic-beta, anthropic-dangerous-direct-browser-access, x-stainless-arch, x-stainless-lang, "
     "x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, "
     "x-stainless-runtime-version, x-stainless-timeout"),
    ("Access-Control-Expose-Headers", "request-id, x-request-id, x-tresor-overhead-ms"),
)
# Client headers never forwarded: hop-by-hop (RFC 9110 §7.6.1), framing we recompute, and every
# client credential (SPEC §1: stripped even when proxy auth is off; the Go project leaked them).
_DROP_HEADERS = frozenset((
    "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    "content-length", "accept-encoding", "authorization", "x-api-key", "x-goog-api-key", "cookie",
    "proxy-authorization", "expect"))
_CANONICAL_PATHS = {"/chat/completions": "/v1/chat/completions", "/messages": "/v1/messages",
                    "/responses": "/v1/responses", "/messages/count_tokens": "/v1/messages/count_tokens"}


class Outgoing(NamedTuple):
    """The upstream request the engine built: what Pool.send() takes."""

    method: str
    url: str
    headers: List[Tuple[str, str]]
    body: bytes


class Engine:
    """Runs gateway requests against the live `state`; stateless itself, shared by all threads."""

    ping_interval_s = 15.0  # Anthropic-client keep-alive during upstream silence (SPEC §3)

    def __init__(self, state):
        self.state = state

    def handle(self, request: Request) -> Response:
        """Answer one gateway request (never raises for client or upstream faults)."""
        started = self.start(request)
        if isinstance(started, Response):
            return started
        return self.forward(*started)

    def start(self, request: Request) -> Union[Response, Tuple[Exchange, Outgoing]]:
        """Everything before the upstream: the complete Response when the request is answered here
        (errors, model lists, estimates, a plugin's answer), else the Exchange and what to send.
        CPU only, no I/O; never raises for client faults."""
        endpoint = paths.classify(request.method, request.path)
        if endpoint is None:
            error = ClientError("%s path not found. %s" % (request.path, paths.USAGE_HINT), 404, "not_found_error")
            return self.reject(request.method, request.path, error)
        if request.method == "OPTIONS":
            return Response(204, list(CORS_HEADERS))
        x = Exchange(request, endpoint, client_format=endpoint.format)
        planned = self._guarded(x, self._prepare, x)
        if isinstance(planned, Response):
            return self.finalize(x, planned)
        return x, planned

    def forward(self, x: Exchange, outgoing: Outgoing, begun=None) -> Response:
        """Send `outgoing` through the pool (blocking) and relay the answer in the client's format;
        `begun` as in Pool.send (a send the event loop started)."""
        return self.finalize(x, self._guarded(x, self._send, x, outgoing, begun))

    def complete(self, x: Exchange, upstream) -> Response:
        """The client's Response for an upstream answer read elsewhere (the event loop's body view)."""
        return self.finalize(x, self._guarded(x, relay.respond, self, x, upstream))

    def fail(self, x: Exchange, error: UpstreamError) -> Response:
        """The client's error Response for an upstream failure found elsewhere (the event loop)."""
        x.error = error.message
        return self.finalize(x, self.error_response(x, ir.Error(error.status, error.message, "api_error")))

    def finalize(self, x: Exchange, response: Response) -> Response:
        """Add the CORS headers; log a complete (non-streamed) response now, streams log when they end."""
        response.headers.extend(CORS_HEADERS)
        if not response.is_stream:
            self.record(x, response.status, len(response.body))
        return response

    def _guarded(self, x: Exchange, step: Callable[..., Any], *args: Any) -> Any:
        """`step(*args)`, with every failure turned into an error Response in the client's format."""
        try:
            return step(*args)
        except ClientError as e:
            x.error = e.message
            return self.error_response(x, ir.Error(e.status, e.message, e.kind))
        except UpstreamError as e:
            x.error = e.message
            return self.error_response(x, ir.Error(e.status, e.message, "api_error"))
        except PluginError as e:
            log.warning("%s", e.message, exc_info=e.__cause__)
            x.error = e.message
            return self.error_response(x, ir.Error(500, e.message, "api_error"))
        except Exception as e:  # a bug in a format module or plugin: answer in the client's format, log it
            log.exception("gateway failure on %s", x.request.path)
            x.error = "internal error: %s" % type(e).__name__
            return self.error_response(x, ir.Error(500, "internal error in Tresor (%s); see the daemon log"
                                                   % type(e).__name__, "api_error"))

    def _prepare(self, x: Exchange) -> Union[Response, Outgoing]:
        self._authenticate(x)
        if x.endpoint.kind in (paths.LIST_MODELS, paths.GET_MODEL):
            return models.answer(x.endpoint, self.state.routes, x.request.query_params())
        self._read_body(x)
        self._resolve(x)
        self._plan(x)
        if x.endpoint.kind == paths.COUNT_TOKENS and x.downstream_format != x.client_format:
            return self._estimate_tokens(x)
        outgoing = self._upstream_request(x)
        return x.response if x.response is not None else outgoing

    def _send(self, x: Exchange, outgoing: Outgoing, begun=None) -> Response:
        sent = time.perf_counter()
        upstream = self.state.pool.send(*outgoing, idle_timeout=self.state.config.stream_idle_timeout,
                                        downstream_id=x.route.downstream.id, begun=begun)
        x.upstream_s += time.perf_counter() - sent
        return relay.respond(self, x, upstream)

    def _authenticate(self, x: Exchange) -> None:
        keys = self.state.config.proxy_api_keys
        if not keys:
            return
        token, _ = routing.client_token(x.request.headers, x.request.query_params())
        if not routing.is_authorized(token, keys):
            x.error = "unauthorized"
            raise ClientError("invalid or missing proxy API key: send one of the keys in proxy_api_keys as "
                              "'Authorization: Bearer <key>', 'x-api-key' or 'x-goog-api-key'", 401,
                              "authentication_error")

    def _read_body(self, x: Exchange) -> None:
        if x.request.body.strip():
            x.body, x.spans, x.text = jsonbody.parse(x.request.body)
        elif x.endpoint.format != "gemini":
            raise ClientError("request body is empty; send a JSON object with a \"model\" field", 400)
        model = x.body.get("model") if x.endpoint.format != "gemini" else x.endpoint.model
        if not isinstance(model, str) or not model:
            x.error = "missing model"
            raise ClientError("request body missing model: set \"model\" to one of the ids in GET /v1/models", 400)
        x.model = model
        x.is_stream = x.endpoint.is_stream if x.endpoint.format == "gemini" else x.body.get("stream") is True

    def _resolve(self, x: Exchange) -> None:
        route = self.state.routes.resolve(x.model)
        if route is None:
            x.error = "unknown model"
            raise ClientError('unknown model "%s": add it to a downstream\'s output_model_ids or create an '
                              "alias for it (GET /v1/models lists what is served)" % x.model, 404, "not_found_error")
        x.route = route

    def _plan(self, x: Exchange) -> None:
        """Pick the pipeline: matching rules' steps, plus the automatic converter when needed.

        The downstream format is the client's when the downstream lists it (or lists nothing),
        else its first format (SPEC §2.4). A converter in a rule for the client's format replaces
        the automatic one, so traffic is never converted twice.
        """
        routes = self.state.routes
        x.steps = pipeline.match(routes.rules, x)
        declared = x.route.downstream.api_formats
        if x.client_format is None or not declared or x.client_format in declared:
            x.downstream_format = x.client_format or (declared[0] if declared else "openai")
        else:
            x.downstream_format = declared[0]
            if not pipeline.converts_from(x.steps, x.client_format) and x.endpoint.kind == paths.GENERATE:
                x.steps = (routes.converter(x.client_format, x.downstream_format),) + x.steps
        if pipeline.converts_from(x.steps, x.client_format):
            x.downstream_format = next(s.plugin.target_format for s in x.steps
                                       if getattr(s.plugin, "source_format", None) == x.client_format)

    def _estimate_tokens(self, x: Exchange) -> Response:
        from tresor.formats import estimate

        client = formats.get(x.client_format)
        request = client.parse_request(x.body, model=x.model, is_stream=False)
        return json_response(200, client.render_count_tokens(estimate.input_tokens(request)),
                             [("x-tresor-estimate", "chars/4")])

    def _upstream_request(self, x: Exchange) -> Outgoing:
        from tresor.gateway.upstream import join_url

        x.format, x.query = x.client_format, _without_key(x.request.query)
        x.path = self._same_format_path(x)
        x.headers = {k: v for k, v in x.request.headers.items() if k not in _DROP_HEADERS}
        _check_header_values(x.headers)
        body = x.request.body
        if x.route.model != x.model and x.client_format != "gemini" and "model" in x.spans:
            body = jsonbody.replace(x.text, x.spans, "model", x.route.model)
            x.body["model"] = x.route.model
        if self.state.config.capture_payloads:
            from tresor.gateway.capture import ResponseTee

            x.captured_request, x.tee = body, ResponseTee()
        if x.steps:
            pipeline.run_request(x.steps, x)
            if any(s.plugin.changes_body for s in x.steps if hasattr(s.plugin, "request")):
                body = json.dumps(x.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        x.downstream_format = x.format or x.downstream_format
        downstream = x.route.downstream
        base = downstream.format_urls.get(x.downstream_format or "") or downstream.base_url
        headers = list(x.headers.items())
        if not any(k in x.headers for k in routing.CREDENTIAL_HEADERS):  # a rule-set key wins (reference §3.11)
            _inject_key(headers, downstream.api_key, x.downstream_format)
        return Outgoing(x.request.method, join_url(base, x.path, x.query), headers, body)

    def _same_format_path(self, x: Exchange) -> str:
        if x.endpoint.format == "gemini":
            prefix = x.request.path[: x.request.path.index("/models/") + len("/models/")]
            action = ":" + x.endpoint.action if x.endpoint.action else ""
            return prefix + x.route.model + action
        return _CANONICAL_PATHS.get(x.request.path, x.request.path)

    def reject(self, method: str, path: str, error: ClientError) -> Response:
        """An error for a request refused before it could be read (no Exchange yet), in the format
        its path implies (OpenAI shape for unknown paths)."""
        endpoint = paths.classify(method, path)
        module = formats.get((endpoint.format if endpoint else None) or "openai")
        response = json_response(error.status, module.render_error(ir.Error(error.status, error.message, error.kind)))
        response.headers.extend(CORS_HEADERS)
        return response

    def error_response(self, x: Exchange, error: ir.Error) -> Response:
        """An error in the client's format (OpenAI shape when the format is unknown)."""
        module = formats.get(x.client_format or "openai")
        return json_response(error.status, module.render_error(error))

    def record(self, x: Exchange, status: int, size: int) -> None:
        """Add the request-log entry for `x` (called once, when the response is complete)."""
        now = time.perf_counter()
        route = x.route
        entry = {
            "method": x.request.method, "path": x.request.path, "model": x.model,
            "request_format": x.client_format, "downstream_format": x.downstream_format,
            "client_ip": x.request.client_ip, "status": status, "stream": x.is_stream,
            "duration": round((now - x.started) * 1000.0, 3),
            "overhead_ms": round(x.overhead_ms(now), 3), "bytes": size,
        }
        if route is not None:
            entry.update(resolved_model=route.model, downstream_id=route.downstream.id,
                         downstream_name=route.downstream.name)
            if route.alias_group:
                entry["alias_group"] = route.alias_group
        if x.first_byte_s is not None:
            entry["ttfb_ms"] = round((x.first_byte_s - x.started) * 1000.0, 3)
        if x.usage:
            entry["usage"] = dict(x.usage)
        if x.error:
            entry["error"] = x.error
        rule_ids = sorted({s.rule_id for s in x.steps if s.rule_id})
        if rule_ids:
            entry["rule_ids"] = rule_ids
        for note in x.notes:
            log.debug("%s %s: %s", x.request.method, x.request.path, note)
        stats = getattr(self.state, "stats", None)
        if x.usage and route is not None and stats is not None:
            stats.add(x.started_ms, route.downstream.id, route.model, x.request.client_ip, x.usage)
        recorded = self.state.log.record(entry)
        if recorded is not None and x.tee is not None:
            self._capture(x, recorded)

    def _capture(self, x: Exchange, entry: dict) -> None:
        request = {"content_type": x.request.headers.get("content-type", ""),
                   "body": (x.captured_request or b"").decode("utf-8", "replace")}
        response = {"content_type": "text/event-stream" if x.is_stream else "application/json",
                    "body": x.tee.text()}
        if x.tee.is_truncated:
            response["truncated"] = True
        self.state.payloads.put(entry, request, response)


def _check_header_values(headers: Dict[str, str]) -> None:
    # RFC 9110 §5.5: CR, LF and NUL are never valid in a field value; forwarding one would split
    # the upstream request's head, so the request is refused (http.client refuses to send it too).
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\0" in value:
            raise ClientError("header %s contains a control character (CR, LF or NUL)" % name[:64], 400)


def _without_key(query: str) -> str:
    """The query string without a client's `key=` credential (Gemini style)."""
    if "key=" not in query:
        return query
    return "&".join(p for p in query.split("&") if p and not p.startswith("key="))


def _inject_key(headers: List[Tuple[str, str]], api_key: str, downstream_format: Optional[str]) -> None:
    """Add the downstream's key in the header of the format actually used (reference §3.11)."""
    if downstream_format == "anthropic":
        if not any(k.lower() == "anthropic-version" for k, _ in headers):
            headers.append(("anthropic-version", "2023-06-01"))
        if api_key:
            headers.append(("x-api-key", api_key))
    elif api_key:
        headers.append(("x-goog-api-key", api_key) if downstream_format == "gemini"
                       else ("Authorization", "Bearer " + api_key))
