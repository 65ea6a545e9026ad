"""OpenAI error envelopes: `{"error": {"message", "type", "param", "code"}}`.

parse_error is lenient (OpenAI, Anthropic, Gemini, vLLM/FastAPI envelopes, plain text, None);
render_error maps the status to OpenAI's type names, which the openai SDK exposes as e.type.
"""
from __future__ import annotations

import json
from typing import Optional

from tresor.formats import ir
from tresor.formats.sse import SSEEvent

# Neutral kinds the IR carries when the upstream body names none.
KIND_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 503: "overloaded_error", 529: "overloaded_error",
}
# OpenAI `type` per status (401: OpenAI itself says invalid_request_error + invalid_api_key).
TYPE_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "invalid_request_error", 422: "invalid_request_error",
    429: "rate_limit_error", 500: "server_error", 502: "server_error", 503: "server_error",
    504: "server_error", 529: "server_error",
}
_OPENAI_TYPES = frozenset(TYPE_BY_STATUS.values()) | {"insufficient_quota", "tokens", "requests"}
_STATUS_BY_KIND = {
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
    "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429,
    "insufficient_quota": 429, "overloaded_error": 529, "server_error": 500, "api_error": 500,
}
_MAX_MESSAGE = 2000


def kind_for_status(status: int) -> str:
    """The neutral error kind for an HTTP status."""
    if status in KIND_BY_STATUS:
        return KIND_BY_STATUS[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def status_for_error(payload: dict, default: int = 500) -> int:
    """Best HTTP status for an in-stream error payload (which carries no HTTP status)."""
    err = payload.get("error") if isinstance(payload.get("error"), dict) else payload
    for key in ("code", "status"):
        if isinstance(err.get(key), int) and 400 <= err[key] <= 599:
            return err[key]
    kind = err.get("type")
    return _STATUS_BY_KIND.get(kind, default) if isinstance(kind, str) else default


def _text(value) -> Optional[str]:
    if isinstance(value, str) and value.strip():
        return value.strip()[:_MAX_MESSAGE]
    if isinstance(value, (list, dict)) and value:  # FastAPI validation `detail` lists
        return json.dumps(value, ensure_ascii=False)[:_MAX_MESSAGE]
    return None


def _decode(body):
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    if isinstance(body, list) and body:  # Gemini sometimes wraps the envelope in a list
        return body[0]
    return body


def parse_error(status: int, body) -> ir.Error:
    """An ir.Error for an upstream error `body` (parsed JSON, text, bytes or None) and `status`."""
    body = _decode(body)
    message = kind = code = None
    if isinstance(body, str):
        message = _text(body)
    elif isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            message = _text(err.get("message")) or _text(err.get("msg")) or _text(err.get("detail"))
            kind = err.get("type") if isinstance(err.get("type"), str) and err.get("type") else None
            code = str(err["code"]) if isinstance(err.get("code"), str) else None
        else:
            message = _text(err)
        message = message or _text(body.get("message")) or _text(body.get("detail"))
    return ir.Error(status=status, message=message or "upstream returned HTTP %d" % status,
                    kind=kind or kind_for_status(status), code=code)


def _error_type(error: ir.Error) -> str:
    if error.kind in _OPENAI_TYPES and error.kind not in ("api_error", "server_error"):
        return error.kind
    if error.status in TYPE_BY_STATUS:
        return TYPE_BY_STATUS[error.status]
    return "invalid_request_error" if 400 <= error.status < 500 else "server_error"


def render_error(error: ir.Error) -> dict:
    """OpenAI's error envelope for `error` (the HTTP status is error.status)."""
    code = error.code
    if code is None and error.status == 429:
        code = "rate_limit_exceeded"
    return {"error": {"message": error.message, "type": _error_type(error), "param": None, "code": code}}


def render_stream_error(error: ir.Error) -> SSEEvent:
    """The in-stream error chunk; the openai SDK raises APIError on `data: {"error": ...}`."""
    return SSEEvent(json.dumps(render_error(error), ensure_ascii=False, separators=(",", ":")))
