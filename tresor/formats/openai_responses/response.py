"""Responses API response objects <-> ir.Response; usage; stop reasons; the echo fields.

A response object echoes the request (`instructions`, `tools`, `tool_choice`, `reasoning`,
`text`, …). Within the family the upstream's object is the template (exact round trip); for an
answer from another family the echo comes from the client's parsed request.

Stop reasons: `completed` -> end (tool_use when the output has a function_call);
`incomplete` + `max_output_tokens` -> max_tokens, + `content_filter` -> content_filter;
`failed` / `cancelled` -> error. Usage: `input_tokens` already includes cached tokens (the IR's
convention), `output_tokens` includes reasoning tokens.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from tresor.formats import ir
from tresor.formats.openai_responses import items as it
from tresor.formats.openai_responses import request as rq
from tresor.formats.openai_responses.items import F, fx

_STATUS_STOP = {"completed": "end", "failed": "error", "cancelled": "error"}
_INCOMPLETE_STOP = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}
# stop reason -> (status, incomplete_details.reason)
_STOP_STATUS = {
    "end": ("completed", None),
    "tool_use": ("completed", None),
    "stop_sequence": ("completed", None),
    "max_tokens": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
    "error": ("failed", None),
}
FAILED_ERROR = {"code": "server_error", "message": "The upstream model failed to complete the response."}

# Request fields (kept as unknown extras by request.py) that the API echoes in its response object.
_ECHO_UNKNOWN = ("max_tool_calls", "previous_response_id", "prompt_cache_key", "safety_identifier",
                 "service_tier", "store", "top_logprobs", "truncation")


# -- stop reasons and usage ----------------------------------------------------------------------

def stop_reason_of(response: Dict[str, Any]) -> Optional[str]:
    """The IR stop reason of a response object (status, incomplete_details, function calls)."""
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE_STOP.get(reason, "max_tokens") if isinstance(reason, str) else "max_tokens"
    stop = _STATUS_STOP.get(status) if isinstance(status, str) else None
    if stop == "end" and any(it.item_kind(i) == "function_call" for i in response.get("output") or []):
        return "tool_use"
    return stop


def status_of(stop_reason: Optional[str]) -> Tuple[str, Optional[Dict[str, str]]]:
    """(`status`, `incomplete_details`) for an IR stop reason (None counts as completed)."""
    status, reason = _STOP_STATUS.get(stop_reason or "end", ("completed", None))
    return status, ({"reason": reason} if reason else None)


def _count(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_usage(obj) -> Optional[ir.Usage]:
    """Usage of a response object, a stream event (`response.usage`) or a bare usage object."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("response"), dict):
        obj = obj["response"]
    if "usage" in obj:
        obj = obj["usage"]
        if not isinstance(obj, dict):
            return None
    if not any(key in obj for key in ("input_tokens", "output_tokens", "total_tokens")):
        return None
    details_in = obj.get("input_tokens_details") or {}
    details_out = obj.get("output_tokens_details") or {}
    return ir.Usage(input_tokens=_count(obj.get("input_tokens")), output_tokens=_count(obj.get("output_tokens")),
                    cache_read_tokens=_count(details_in.get("cached_tokens")),
                    cache_creation_tokens=_count(details_in.get("cache_write_tokens")),
                    reasoning_tokens=_count(details_out.get("reasoning_tokens")))


def render_usage(usage: Optional[ir.Usage], template: Any = None) -> Dict[str, Any]:
    """A usage object. Every count is an integer (Codex requires them); the upstream's own object
    is returned unchanged when it says the same."""
    usage = usage or ir.Usage()
    if isinstance(template, dict) and parse_usage(template) == usage:
        return template
    tokens_in, tokens_out = usage.input_tokens or 0, usage.output_tokens or 0
    details_in: Dict[str, int] = {"cached_tokens": usage.cache_read_tokens or 0}
    if usage.cache_creation_tokens is not None:
        details_in["cache_write_tokens"] = usage.cache_creation_tokens
    return {"input_tokens": tokens_in, "input_tokens_details": details_in, "output_tokens": tokens_out,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
            "total_tokens": tokens_in + tokens_out}


# -- echo fields ---------------------------------------------------------------------------------

def response_id(value: str) -> str:
    """`resp_…` ids stay; ids from other families get the prefix (deterministic, still unique)."""
    return value if value.startswith("resp_") else "resp_" + (value or "0")


def skeleton(request: Optional[ir.Request], rid: str, created_at: Any, model: str) -> Dict[str, Any]:
    """A response object in the API's key order, echoing `request` (None: the API's defaults)."""
    unknown = fx(request).get("unknown") or {} if request is not None else {}
    if request is not None:
        instructions = rq.render_system(request, [])[0]
        tools, choice = rq.render_tools(request), rq.render_tool_choice(request)
        parallel, reasoning, text = request.is_parallel_tool_calls, rq.render_reasoning(request), rq.render_text(request)
    else:
        instructions, tools, choice, parallel, reasoning, text = None, [], None, None, None, None
    out: Dict[str, Any] = {"id": rid, "object": "response", "created_at": created_at, "status": "in_progress",
                           "background": False, "error": None, "incomplete_details": None,
                           "instructions": instructions,
                           "max_output_tokens": request.max_tokens if request is not None else None,
                           "max_tool_calls": unknown.get("max_tool_calls"), "model": model, "output": [],
                           "parallel_tool_calls": True if parallel is None else parallel,
                           "previous_response_id": unknown.get("previous_response_id"),
                           "reasoning": dict({"effort": None, "summary": None}, **(reasoning or {}))}
    for key in ("prompt_cache_key", "safety_identifier", "service_tier"):
        if key in unknown:
            out[key] = unknown[key]
    out.update(store=unknown.get("store", True),
               temperature=request.temperature if request is not None else None,
               text=text or {"format": {"type": "text"}}, tool_choice=choice or "auto", tools=tools)
    if "top_logprobs" in unknown:
        out["top_logprobs"] = unknown["top_logprobs"]
    out.update(top_p=request.top_p if request is not None else None, truncation=unknown.get("truncation", "disabled"),
               usage=None, user=request.user if request is not None else None,
               metadata=dict(request.metadata) if request is not None else {})
    return out


# -- parse / render ------------------------------------------------------------------------------

def parse_response(body: Dict[str, Any]) -> ir.Response:
    """The IR of a response object; the object itself stays in extras as the round-trip template."""
    parts, trailing = it.parse_output_items(body.get("output"))
    created = body.get("created_at")
    response = ir.Response(id=str(body.get("id") or ""), model=str(body.get("model") or ""), parts=parts,
                           stop_reason=stop_reason_of(body), usage=parse_usage(body) or ir.Usage(),
                           created_s=int(created) if isinstance(created, (int, float)) else None)
    response.extras[F] = {"response": body, "trailing_items": trailing}
    return response


def render_response(response: ir.Response, request: Optional[ir.Request]) -> Dict[str, Any]:
    """A response object for `response`, echoing `request` when the answer came from another family."""
    x = fx(response)
    template = x.get("response")
    model = response.model or (request.model if request is not None else "")
    created = response.created_s if response.created_s is not None else 0
    if template is not None:
        out = dict(template)
        out["id"] = response.id or out.get("id") or response_id("")
        if not isinstance(out.get("created_at"), (int, float)) or int(out["created_at"]) != created:
            out["created_at"] = created
        out["model"] = model or out.get("model")
    else:
        out = skeleton(request, response_id(response.id), created, model)
    if template is None or stop_reason_of(template) != response.stop_reason:
        out["status"], out["incomplete_details"] = status_of(response.stop_reason)
        out["error"] = dict(FAILED_ERROR) if out["status"] == "failed" else None
    rid = out["id"]
    base = rid[5:] if rid.startswith("resp_") else rid
    counter = iter(range(len(response.parts) + 1))
    item_status = "incomplete" if out["status"] == "incomplete" else "completed"
    output = it.render_assistant(response.parts, is_output=True, status=item_status,
                                 new_id=lambda kind: "%s_%s_%d" % (kind, base, next(counter)))
    out["output"] = output + list(x.get("trailing_items") or [])
    out["usage"] = render_usage(response.usage, template.get("usage") if template is not None else None)
    return out
