"""Error envelopes of the Responses API: HTTP error bodies and the in-stream `error` event.

HTTP errors use the same envelope as Chat Completions: {"error": {"message", "type", "param",
"code"}}. `ir.Error.kind` keeps the upstream's own error type when it has one (so an OpenAI
`insufficient_quota` survives a round trip); generic kinds are mapped from the HTTP status.

In-stream errors. What the openai SDK does (openai-python `_streaming.py`, checked on 3.57): any
SSE payload with a truthy top-level `error` object raises `APIError(error.message)` at once; the
documented flat event `{"type":"error","code","message","param"}` has no such key and is yielded
as a plain event, and `response.failed` only makes `get_final_response()` raise "Didn't receive a
`response.completed` event" without the message. The real API sends the nested form
(`{"type":"error","error":{...},"sequence_number"}`, openai-dotnet#881) and Codex reads
`error.message` from it. So the event we emit is the nested form, with the documented flat fields
added for clients that decode the schema strictly (openai-go, Effect).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from tresor.formats import ir
from tresor.formats.sse import SSEEvent

# OpenAI error type / code -> HTTP status, for errors that arrive inside a 200 stream.
_CODE_STATUS = {
    "invalid_request_error": 400, "context_length_exceeded": 400, "invalid_prompt": 400,
    "authentication_error": 401, "invalid_api_key": 401, "permission_error": 403,
    "not_found_error": 404, "model_not_found": 404, "request_too_large": 413,
    "rate_limit_exceeded": 429, "rate_limit_error": 429, "too_many_requests": 429,
    "insufficient_quota": 429, "requests": 429, "tokens": 429,
    "server_error": 500, "api_error": 500, "server_is_overloaded": 503, "overloaded_error": 503,
    "timeout": 504, "timeout_error": 504,
}
_STATUS_TYPE = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "invalid_request_error", 422: "invalid_request_error",
                429: "rate_limit_error", 503: "server_error", 504: "timeout"}
# Kinds that carry no more than the status does (ours and other formats' generic names).
_GENERIC_KINDS = ("api_error", "overloaded_error", "error")


def _status_type(status: int) -> str:
    if status in _STATUS_TYPE:
        return _STATUS_TYPE[status]
    return "invalid_request_error" if 400 <= status < 500 else "server_error"


def error_type(error: ir.Error) -> str:
    """The OpenAI error `type` for `error`: its own kind when specific, else from the status."""
    kind = error.kind or ""
    if kind and kind not in _GENERIC_KINDS and not kind.isupper():  # isupper: Gemini's RESOURCE_EXHAUSTED
        return kind
    return _status_type(error.status)


def status_of_code(*names) -> int:
    """The HTTP status an in-stream error's code / type stands for (500 when unknown)."""
    for name in names:
        if isinstance(name, str) and name in _CODE_STATUS:
            return _CODE_STATUS[name]
    return 500


def _error_object(body) -> Optional[Dict[str, Any]]:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("error"), dict):
        return body["error"]
    if isinstance(body.get("response"), dict) and isinstance(body["response"].get("error"), dict):
        return body["response"]["error"]  # a response.failed event / failed response object
    return body if "message" in body else None


def parse_error(status: int, body) -> ir.Error:
    """An ir.Error from an error body of any shape (ours, Anthropic's, Gemini's, text, None)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    obj = _error_object(body)
    if obj is None:
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = body["error"]
        elif isinstance(body, str) and body.strip():
            message = body.strip()
        else:
            message = "upstream returned HTTP %d" % status if status >= 400 else "the upstream stream failed"
        status = status if status >= 400 else 500
        return ir.Error(status=status, message=message, kind=_status_type(status))
    message = obj.get("message")
    if not isinstance(message, str) or not message:
        message = json.dumps(obj, ensure_ascii=False)
    code = obj.get("code") if isinstance(obj.get("code"), str) else None
    if code is None and isinstance(obj.get("status"), str):
        code = obj["status"]  # Gemini: {"code": 429, "status": "RESOURCE_EXHAUSTED"}
    kind = obj.get("type") if isinstance(obj.get("type"), str) and obj.get("type") != "error" else None
    if status < 400:  # an error inside a 200 stream: the code says what happened
        status = status_of_code(code, kind)
    return ir.Error(status=status, message=message, kind=kind or _status_type(status), code=code)


def render_error(error: ir.Error) -> Dict[str, Any]:
    """The OpenAI error envelope for `error` (the HTTP status is `error.status`)."""
    return {"error": {"message": error.message, "type": error_type(error), "param": None, "code": error.code}}


def stream_error_payload(error: ir.Error, sequence_number: int) -> Dict[str, Any]:
    """The `error` event payload: the nested form the API sends plus the documented flat fields."""
    nested = {"type": error_type(error), "code": error.code, "message": error.message, "param": None}
    return {"type": "error", "sequence_number": sequence_number, "error": nested,
            "code": error.code, "message": error.message, "param": None}


def render_stream_error(error: ir.Error) -> SSEEvent:
    """The in-stream `error` event (sequence_number 0: the caller's position in the stream is unknown)."""
    return SSEEvent(event="error", data=json.dumps(stream_error_payload(error, 0), ensure_ascii=False))
