"""Gemini GenerateContentResponse bodies and error envelopes <-> IR.

Response.extras["gemini"] keys: `unknown` (top-level, e.g. promptFeedback), `candidate` (other
keys of candidate 0: index, safetyRatings, citationMetadata...), `content` (content minus parts;
None when absent), `no_parts`, `finishReason` / `usage` (raw, re-emitted while the IR still says
the same), `others` (parts with no IR form, by position), `candidates` (candidates after the
first), `no_candidates`.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from tresor.formats import ir
from tresor.formats.gemini.parts import insert_others, parse_parts, render_part
from tresor.formats.gemini.wire import (ID, CallIds, ext, get, has, parse_finish, parse_usage, render_finish,
                                        render_usage, rest)
from tresor.formats.sse import SSEEvent

_TOP = ("candidates", "usageMetadata", "modelVersion", "responseId")
_CANDIDATE = ("content", "finishReason")

# google.rpc status names <-> IR error kinds (the Anthropic-style names the IR uses).
_KIND_FROM_STATUS = {
    "INVALID_ARGUMENT": "invalid_request_error", "FAILED_PRECONDITION": "invalid_request_error",
    "OUT_OF_RANGE": "invalid_request_error", "UNAUTHENTICATED": "authentication_error",
    "PERMISSION_DENIED": "permission_error", "NOT_FOUND": "not_found_error",
    "RESOURCE_EXHAUSTED": "rate_limit_error", "INTERNAL": "api_error", "UNKNOWN": "api_error",
    "UNAVAILABLE": "overloaded_error", "DEADLINE_EXCEEDED": "timeout_error",
}
_STATUS_FROM_KIND = {
    "invalid_request_error": "INVALID_ARGUMENT", "authentication_error": "UNAUTHENTICATED",
    "permission_error": "PERMISSION_DENIED", "not_found_error": "NOT_FOUND",
    "rate_limit_error": "RESOURCE_EXHAUSTED", "api_error": "INTERNAL", "overloaded_error": "UNAVAILABLE",
    "timeout_error": "DEADLINE_EXCEEDED", "request_too_large": "INVALID_ARGUMENT",
}
_STATUS_FROM_HTTP = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED", 529: "UNAVAILABLE",
}


def _first_candidate(body: Dict[str, Any], ex: Dict[str, Any]) -> Dict[str, Any]:
    candidates = get(body, "candidates")
    if not isinstance(candidates, list):
        ex["no_candidates"] = True
        return {}
    if len(candidates) > 1:
        ex["candidates"] = candidates[1:]
    return candidates[0] if candidates and isinstance(candidates[0], dict) else {}


def parse_response(body: Any) -> ir.Response:
    """IR response for a generateContent answer (first candidate; others kept in extras).

    Calls without id get `call_<responseId>_<n>`; finishReason STOP with calls -> tool_use; a
    prompt blocked by promptFeedback.blockReason (no candidates) -> content_filter.
    """
    body = body if isinstance(body, dict) else {}
    ex: Dict[str, Any] = {}
    candidate = _first_candidate(body, ex)
    content = get(candidate, "content")
    ex["content"] = rest(content, ("parts",)) if isinstance(content, dict) else None
    if isinstance(content, dict) and not has(content, "parts"):
        ex["no_parts"] = True  # e.g. a SAFETY / RECITATION stop: content is {"role": "model"}
    parts, others = parse_parts(get(content, "parts"), CallIds(get(body, "responseId") or ""))
    if others:
        ex["others"] = others
    if rest(candidate, _CANDIDATE):
        ex["candidate"] = rest(candidate, _CANDIDATE)
    finish = get(candidate, "finishReason")
    has_calls = any(isinstance(p, ir.ToolCall) for p in parts)
    stop = parse_finish(finish, has_calls)
    if finish:
        ex["finishReason"] = finish
    if stop is None and get(get(body, "promptFeedback"), "blockReason"):
        stop = "content_filter"
    usage = parse_usage(body)
    if has(body, "usageMetadata"):
        ex["usage"] = get(body, "usageMetadata")
    if rest(body, _TOP):
        ex["unknown"] = rest(body, _TOP)
    return ir.Response(id=get(body, "responseId") or "", model=get(body, "modelVersion") or "",
                       parts=parts, stop_reason=stop, usage=usage or ir.Usage(), extras={ID: ex})


def render_parts_out(parts: List[ir.Part]) -> List[Dict[str, Any]]:
    """Gemini parts of an answer (ToolResult parts cannot appear in one and are skipped)."""
    out: List[Dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, ir.ToolResult):
            out.extend(render_part(part, {}, is_answer=True))
    return out


def render_response(response: ir.Response, request: Optional[ir.Request]) -> Dict[str, Any]:
    """The generateContent answer for `response`: one candidate (index 0) with role "model",
    finishReason, usageMetadata (always present), modelVersion (response or request model) and
    responseId when known. A response parsed from Gemini is re-rendered exactly."""
    ex = ext(response.extras)
    is_native = "content" in ex
    parts = insert_others(render_parts_out(response.parts), ex.get("others"))
    candidate: Dict[str, Any] = {}
    shape = ex["content"] if is_native else {"role": "model"}
    if shape is not None:
        candidate["content"] = dict(shape) if ex.get("no_parts") and not parts else dict(shape, parts=parts)
    if not is_native or "finishReason" in ex or response.stop_reason is not None:
        candidate["finishReason"] = render_finish(response.stop_reason, ex.get("finishReason"))
    candidate.update(ex.get("candidate") or ({} if is_native else {"index": 0}))
    body: Dict[str, Any] = {}
    if not ex.get("no_candidates"):
        body["candidates"] = [candidate] + list(ex.get("candidates") or [])
    raw_usage = ex.get("usage")
    if isinstance(raw_usage, dict) and parse_usage(raw_usage) == response.usage:
        body["usageMetadata"] = raw_usage
    elif "usage" in ex or not is_native:
        body["usageMetadata"] = render_usage(response.usage)
    model = response.model or (request.model if request is not None else "")
    if model:
        body["modelVersion"] = model
    if response.id:
        body["responseId"] = response.id
    body.update(ex.get("unknown") or {})
    return body


def _error_object(body: Any) -> Any:
    if isinstance(body, list) and body:
        body = body[0]  # the JSON-array framing of :streamGenerateContent without alt=sse
    if isinstance(body, dict) and "error" in body:
        return body["error"]
    return body


def parse_error(status: int, body: Any) -> ir.Error:
    """IR error for an upstream error answer: the Gemini envelope {"error": {code, message, status}},
    and leniently other formats' envelopes, plain strings or None. `code` is the Gemini status name."""
    err = _error_object(body)
    if isinstance(err, str):
        return ir.Error(status, err or "HTTP %d" % status, _kind_for_http(status))
    if not isinstance(err, dict):
        return ir.Error(status, "HTTP %d" % status if body is None else json.dumps(body)[:500],
                        _kind_for_http(status))
    message = err.get("message") if isinstance(err.get("message"), str) else None
    rpc = err.get("status") if isinstance(err.get("status"), str) else None
    kind = _KIND_FROM_STATUS.get(rpc or "") or (err.get("type") if isinstance(err.get("type"), str) else None)
    code = rpc or (err.get("code") if isinstance(err.get("code"), str) else None)
    return ir.Error(status, message or "HTTP %d" % status, kind or _kind_for_http(status), code)


def _kind_for_http(status: int) -> str:
    return _KIND_FROM_STATUS.get(_STATUS_FROM_HTTP.get(status, ""), "api_error" if status >= 500
                                 else "invalid_request_error")


def _rpc_status(error: ir.Error) -> str:
    if error.code in _KIND_FROM_STATUS:
        return error.code
    if error.kind in _STATUS_FROM_KIND:
        return _STATUS_FROM_KIND[error.kind]
    return _STATUS_FROM_HTTP.get(error.status, "INTERNAL" if error.status >= 500 else "INVALID_ARGUMENT")


def render_error(error: ir.Error) -> Dict[str, Any]:
    """{"error": {"code": <HTTP status>, "message", "status": <google.rpc name>}}."""
    return {"error": {"code": error.status, "message": error.message, "status": _rpc_status(error)}}


def render_stream_error(error: ir.Error) -> SSEEvent:
    """The in-stream error event: `data: {"error": {...}}` (google-genai raises on it)."""
    return SSEEvent(json.dumps(render_error(error), ensure_ascii=False, separators=(",", ":")))


def render_count_tokens(count: int) -> Dict[str, Any]:
    """The :countTokens answer."""
    return {"totalTokens": count}
