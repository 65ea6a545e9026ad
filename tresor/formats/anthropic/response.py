"""Anthropic Messages answers: response bodies, stop reasons, usage, error envelopes, count_tokens.

Usage follows ir.py: IR input_tokens = input + cache reads + cache writes; rendering subtracts them
back (never below 0). Contract: tresor/formats/__init__.py and ir.py.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from tresor.formats import ir

from .blocks import ID, new_id, own, parse_blocks, render_part

STOP_FROM = {"end_turn": "end", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
             "tool_use": "tool_use", "refusal": "content_filter",
             "pause_turn": "end",  # server tools paused a long turn; the client simply continues
             "model_context_window_exceeded": "max_tokens"}
STOP_TO = {"end": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
           "tool_use": "tool_use", "content_filter": "refusal", "error": "end_turn"}

USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")

KIND_BY_STATUS = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                  403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                  429: "rate_limit_error", 500: "api_error", 502: "api_error",
                  503: "overloaded_error", 504: "api_error", 529: "overloaded_error"}
# Status for an error that arrives inside a 200 stream (the envelope names only the type).
STATUS_BY_KIND = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                  "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                  "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529}
# Other formats' names for the same conditions (OpenAI error types / codes, Gemini statuses).
_FOREIGN_KINDS = {"RESOURCE_EXHAUSTED": "rate_limit_error", "rate_limit_exceeded": "rate_limit_error",
                  "UNAUTHENTICATED": "authentication_error", "PERMISSION_DENIED": "permission_error",
                  "NOT_FOUND": "not_found_error", "INVALID_ARGUMENT": "invalid_request_error",
                  "UNAVAILABLE": "overloaded_error", "server_error": "api_error", "INTERNAL": "api_error"}
_RESPONSE_KNOWN = ("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage")


# ---- stop reasons and usage


def parse_stop(reason: Optional[str], ax: Dict[str, Any]) -> Optional[str]:
    """Wire stop_reason -> IR; the exact value goes to ax["stop_reason"] when the mapping loses it."""
    if reason is None:
        return None
    if not isinstance(reason, str):  # a malformed upstream value: keep nothing unhashable around
        return "end"
    mapped = STOP_FROM.get(reason, "end")
    if STOP_TO[mapped] != reason:
        ax["stop_reason"] = reason
    return mapped


def render_stop(reason: Optional[str], ax: Dict[str, Any], has_tool_use: bool, has_refusal: bool = False) -> str:
    """IR stop reason -> wire. Under a plain "end": "tool_use" when tool calls were answered (Gemini
    reports STOP with function calls; Claude Code loops on tool_use), "refusal" after a Refusal part
    (OpenAI refusals finish with "stop")."""
    exact = ax.get("stop_reason")
    if exact is not None and STOP_FROM.get(exact, "end") == reason:
        return exact
    if has_tool_use and reason in (None, "end"):
        return "tool_use"
    if has_refusal and reason in (None, "end"):
        return "refusal"
    return STOP_TO.get(reason or "end", "end_turn")


def usage_from_wire(usage: Dict[str, Any]) -> ir.Usage:
    """A wire usage object -> ir.Usage (input includes cache reads and writes)."""
    counts = {k: usage.get(k) if isinstance(usage.get(k), int) else None for k in USAGE_KEYS}
    sides = [counts[k] for k in USAGE_KEYS[:3] if counts[k] is not None]
    return ir.Usage(input_tokens=sum(sides) if sides else None, output_tokens=counts["output_tokens"],
                    cache_read_tokens=counts["cache_read_input_tokens"],
                    cache_creation_tokens=counts["cache_creation_input_tokens"])


def keep_usage(usage: Any, ax: Dict[str, Any]) -> ir.Usage:
    """usage_from_wire, keeping extra keys (cache_creation, service_tier, ...) and absent counts in ax."""
    if not isinstance(usage, dict):
        return ir.Usage()
    extra = {k: v for k, v in usage.items() if k not in USAGE_KEYS}
    absent = [k for k in USAGE_KEYS if k not in usage]
    if extra:
        ax["usage"] = extra
    if absent:
        ax["usage_absent"] = absent
    return usage_from_wire(usage)


def render_usage(usage: Optional[ir.Usage], ax: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """ir.Usage -> the full wire usage object: all four counts (0 when unknown, as MiniMax-fixing
    clients expect) unless the same-family original lacked them, plus kept extra keys."""
    usage = usage or ir.Usage()
    ax = ax or {}
    cache_read, cache_write = usage.cache_read_tokens or 0, usage.cache_creation_tokens or 0
    wire = {"input_tokens": max(0, (usage.input_tokens or 0) - cache_read - cache_write),
            "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read,
            "output_tokens": usage.output_tokens or 0}
    for key in ax.get("usage_absent", ()):
        wire.pop(key, None)
    for key, value in ax.get("usage", {}).items():
        wire.setdefault(key, value)
    return wire


def parse_usage(obj: Any) -> Optional[ir.Usage]:
    """Usage of a message body, a `message_start` / `message_delta` payload, or a bare usage object."""
    if not isinstance(obj, dict):
        return None
    if obj.get("type") == "message_start" and isinstance(obj.get("message"), dict):
        obj = obj["message"]
    if isinstance(obj.get("usage"), dict):
        return usage_from_wire(obj["usage"])
    if any(k in obj for k in USAGE_KEYS):
        return usage_from_wire(obj)
    return None


# ---- responses


def parse_response(body: Any) -> ir.Response:
    """A Messages response body -> ir.Response (lenient: a non-object gives an empty answer)."""
    body = body if isinstance(body, dict) else {}
    ax: Dict[str, Any] = {}
    resp = ir.Response(id=str(body.get("id") or ""), model=str(body.get("model") or ""),
                       parts=parse_blocks(body.get("content")), stop_sequence=body.get("stop_sequence"))
    resp.stop_reason = parse_stop(body.get("stop_reason"), ax)
    resp.usage = keep_usage(body.get("usage"), ax)
    unknown = {k: v for k, v in body.items() if k not in _RESPONSE_KNOWN}
    if unknown:
        ax["unknown"] = unknown  # container, context_management, stop_details, ...
    resp.extras[ID] = ax
    return resp


def render_response(response: ir.Response, request: Optional[ir.Request]) -> Dict[str, Any]:
    """ir.Response -> a Messages response body; Refusal parts become text blocks."""
    ax = own(response.extras)
    dropped: List[str] = []
    content = [b for b in (render_part(p, dropped, False) for p in response.parts) if b is not None]
    has_tool_use = any(b["type"] == "tool_use" for b in content)
    has_refusal = any(isinstance(p, ir.Refusal) for p in response.parts)
    body: Dict[str, Any] = {
        "id": response.id or new_id("msg_"), "type": "message", "role": "assistant",
        "model": response.model or (request.model if request else ""), "content": content,
        "stop_reason": None if response.stop_reason is None and ID in response.extras
        else render_stop(response.stop_reason, ax, has_tool_use, has_refusal),
        "stop_sequence": response.stop_sequence, "usage": render_usage(response.usage, ax)}
    for key, value in ax.get("unknown", {}).items():
        body.setdefault(key, value)
    return body


# ---- errors and token counts


def kind_for(status: int) -> str:
    """The Anthropic error type for an HTTP status (4xx default invalid_request_error, else api_error)."""
    if status in KIND_BY_STATUS:
        return KIND_BY_STATUS[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def parse_error(status: int, body: Any) -> ir.Error:
    """Any error body (this format's envelope, OpenAI's, Gemini's, a string, None) -> ir.Error."""
    message, kind, code = _error_fields(body)
    if kind not in STATUS_BY_KIND:
        kind = _FOREIGN_KINDS.get(kind or "", _FOREIGN_KINDS.get(code or "", kind_for(status)))
    return ir.Error(status=status, message=message or "upstream returned HTTP %d" % status, kind=kind, code=code)


def _error_fields(body: Any) -> Tuple[str, Optional[str], Optional[str]]:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body.strip()[:2000], None, None
    if isinstance(body, list) and body:
        return _error_fields(body[0])  # Gemini sometimes wraps its error in a list
    if not isinstance(body, dict):
        return "", None, None
    err = body.get("error")
    if isinstance(err, str):
        return err, None, None
    if not isinstance(err, dict):
        err = body
    message = err.get("message") or err.get("detail") or ""
    # OpenAI: {"type", "code": "model_not_found"}; Gemini: {"code": 429, "status": "RESOURCE_EXHAUSTED"}.
    code = err.get("code") if isinstance(err.get("code"), str) else err.get("status")
    kind = err.get("type") if isinstance(err.get("type"), str) else err.get("status")
    return str(message), kind if isinstance(kind, str) else None, code if isinstance(code, str) else None


def render_error(error: ir.Error) -> Dict[str, Any]:
    """ir.Error -> {"type": "error", "error": {"type", "message"}}; the type follows the status unless
    the error already names a specific Anthropic type."""
    kind = error.kind if error.kind in STATUS_BY_KIND and error.kind != "api_error" else kind_for(error.status)
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def render_count_tokens(count: int) -> Dict[str, Any]:
    """The /v1/messages/count_tokens answer."""
    return {"input_tokens": int(count)}
