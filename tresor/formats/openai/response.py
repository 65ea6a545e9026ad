"""OpenAI Chat Completions response body <-> ir.Response, plus the stop-reason and usage tables.

The parsed body is kept as a template (extras["openai"]["raw"]) so system_fingerprint,
service_tier, logprobs, extra choices and usage details survive a same-family round trip.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from tresor.formats import ir
from tresor.formats.openai.messages import FMT, ext, parse_assistant, render_assistant

# finish_reason -> IR stop reason. function_call is the legacy (pre-tools) spelling.
STOP_FROM_WIRE = {
    "stop": "end",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}
STOP_TO_WIRE = {
    "end": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "stop_sequence": "stop",
    "content_filter": "content_filter",
    "error": "stop",
}


def stop_from_wire(finish, has_calls: bool = False, matched=None):
    """IR stop reason for a finish_reason (None stays None; unknown server values mean "end").

    `matched` is vLLM's choice.stop_reason (the stop string hit). Some servers answer "stop"
    with tool calls (llama.cpp, Gemini's OpenAI endpoint): that is a tool_use stop.
    """
    if not isinstance(finish, str):
        return None
    reason = STOP_FROM_WIRE.get(finish, "end")
    if reason == "end" and has_calls:
        return "tool_use"
    if reason == "end" and isinstance(matched, str):
        return "stop_sequence"
    return reason


def stop_to_wire(reason, has_calls: bool = False) -> str:
    """finish_reason for an IR stop reason; a turn with tool calls always says tool_calls."""
    if has_calls and reason in (None, "end", "stop_sequence"):
        return "tool_calls"
    return STOP_TO_WIRE.get(reason, "stop")


# ---- usage -------------------------------------------------------------------------------------

def _int(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from_wire(usage: dict) -> ir.Usage:
    """ir.Usage of a wire usage object (prompt_tokens already includes cached tokens)."""
    prompt = usage.get("prompt_tokens_details") if isinstance(usage.get("prompt_tokens_details"), dict) else {}
    completion = (usage.get("completion_tokens_details")
                  if isinstance(usage.get("completion_tokens_details"), dict) else {})
    cache_read = _int(prompt.get("cached_tokens"))
    if cache_read is None:  # DeepSeek reports prompt_cache_hit_tokens instead
        cache_read = _int(usage.get("prompt_cache_hit_tokens"))
    cache_write = _int(prompt.get("cache_write_tokens"))  # OpenRouter
    if cache_write is None:  # LiteLLM-style passthrough of Anthropic's field
        cache_write = _int(usage.get("cache_creation_input_tokens"))
    return ir.Usage(
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        cache_read_tokens=cache_read,
        cache_creation_tokens=cache_write,
        reasoning_tokens=_int(completion.get("reasoning_tokens")))


def render_usage(usage: ir.Usage) -> dict:
    """The wire usage object. Cache writes have no OpenAI field: they stay inside prompt_tokens."""
    prompt, completion = usage.input_tokens or 0, usage.output_tokens or 0
    out: Dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if usage.cache_read_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens}
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def parse_usage(obj) -> Optional[ir.Usage]:
    """Usage of a response body, a stream chunk, or a bare usage object; None when absent."""
    if not isinstance(obj, dict):
        return None
    if "usage" in obj:
        return usage_from_wire(obj["usage"]) if isinstance(obj["usage"], dict) else None
    if any(k in obj for k in ("prompt_tokens", "completion_tokens", "total_tokens")):
        return usage_from_wire(obj)
    return None


# ---- response ----------------------------------------------------------------------------------

def main_choice(choices) -> Optional[dict]:
    """Choice 0 (clients only read it; n > 1 extra choices ride along in the template)."""
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return None


def parse_response(body) -> ir.Response:
    """Parse a chat.completion body (not mutated) into an ir.Response; tolerant of gaps."""
    body = body if isinstance(body, dict) else {}
    resp = ir.Response(id=body.get("id") if isinstance(body.get("id"), str) else "",
                       model=body.get("model") if isinstance(body.get("model"), str) else "",
                       created_s=_int(body.get("created")))
    meta: Dict[str, Any] = {"raw": body}
    choice = main_choice(body.get("choices"))
    if choice is not None:
        msg = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        resp.parts, meta["message"] = parse_assistant(msg)
        has_calls = any(isinstance(p, ir.ToolCall) for p in resp.parts)
        matched = choice.get("stop_reason")
        resp.stop_reason = stop_from_wire(choice.get("finish_reason"), has_calls, matched)
        if resp.stop_reason == "stop_sequence":
            resp.stop_sequence = matched
    resp.usage = parse_usage(body) or ir.Usage()
    resp.extras[FMT] = meta
    return resp


def _render_choice(response: ir.Response, raw_choice, meta, request) -> dict:
    has_calls = any(isinstance(p, ir.ToolCall) for p in response.parts)
    message = render_assistant(response.parts, meta.get("message"), request)
    if raw_choice is None:
        message.setdefault("refusal", None)  # OpenAI always sends the key
        return {"index": 0, "message": message, "logprobs": None,
                "finish_reason": stop_to_wire(response.stop_reason, has_calls)}
    out = dict(raw_choice)
    out["message"] = message
    raw_finish = raw_choice.get("finish_reason")
    if stop_from_wire(raw_finish, has_calls, raw_choice.get("stop_reason")) != response.stop_reason:
        out["finish_reason"] = stop_to_wire(response.stop_reason, has_calls)
    return out


def render_response(response: ir.Response, request) -> dict:
    """The chat.completion body for `response`; `request` (may be None) supplies the model echo.

    `created` is response.created_s or 0 (formats have no clock; the engine may set it).
    """
    meta = ext(response)
    raw = meta.get("raw")
    out = dict(raw) if raw is not None else {}
    out["id"] = response.id or "chatcmpl-tresor"
    out["object"] = "chat.completion"
    out["created"] = response.created_s if response.created_s is not None else 0
    out["model"] = response.model or (request.model if request is not None else "")
    choices = list(raw.get("choices") or []) if raw is not None else []
    raw_choice = main_choice(choices)
    choice = _render_choice(response, raw_choice, meta, request)
    if raw_choice is None:
        choices.insert(0, choice)
    else:
        choices[choices.index(raw_choice)] = choice
    out["choices"] = choices
    has_raw_usage = raw is not None and "usage" in raw
    if has_raw_usage and (parse_usage(raw) or ir.Usage()) == response.usage:
        out["usage"] = raw["usage"]  # keeps details the IR has no field for
    elif raw is None or has_raw_usage or response.usage != ir.Usage():
        out["usage"] = render_usage(response.usage)
    return out
