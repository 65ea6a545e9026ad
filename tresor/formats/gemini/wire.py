"""Small shared vocabulary of the Gemini package: key lookup, stop reasons, usage, tool-call ids.

Imports only the IR. Public names here are package-internal (not re-exported by `gemini`).
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Optional

from tresor.formats import ir

ID = "gemini"

# Gemini accepts protobuf JSON field names in both spellings: google-genai sends camelCase
# (`systemInstruction`), litellm/aider send snake_case (`system_instruction`), often mixed in
# one body (clients.md §3 aider). We look keys up under both names instead of rewriting bodies,
# because user data (schema property names, function args) must never be renamed.
_UPPER = re.compile(r"([A-Z])")
_LOWER = re.compile(r"_([a-z0-9])")


def snake(name: str) -> str:
    """`maxOutputTokens` -> `max_output_tokens`."""
    return _UPPER.sub(lambda m: "_" + m.group(1).lower(), name)


def camel(name: str) -> str:
    """`max_output_tokens` -> `maxOutputTokens` (camelCase names are returned unchanged)."""
    return _LOWER.sub(lambda m: m.group(1).upper(), name)


def camel_keys(value: Any) -> Any:
    """A copy of `value` with every dict key camelCased. Only for objects whose keys are all field
    names (toolConfig, thinkingConfig), never for schemas or args, whose keys are user data."""
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    if isinstance(value, dict):
        return {camel(k): camel_keys(v) for k, v in value.items()}
    return value


def get(obj: Any, key: str, default: Any = None) -> Any:
    """`obj[key]` under its camelCase or snake_case spelling; `default` if absent or obj not a dict."""
    if not isinstance(obj, dict):
        return default
    if key in obj:
        return obj[key]
    return obj.get(snake(key), default)


def has(obj: Any, key: str) -> bool:
    """True when `obj` has `key` in either spelling."""
    return isinstance(obj, dict) and (key in obj or snake(key) in obj)


def rest(obj: Dict[str, Any], known: Iterable[str]) -> Dict[str, Any]:
    """The entries of `obj` whose key (in either spelling) is not in the camelCase set `known`."""
    names = set(known)
    return {k: v for k, v in obj.items() if k not in names and camel(k) not in names}


def compact(value: Any) -> str:
    """Compact JSON text, the one serialisation of Gemini `args` objects (ir.py docstring)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_object(text: str) -> Dict[str, Any]:
    """Tool-call arguments text as a JSON object; {} when empty, invalid or not an object."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def ext(extras: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """This format's slice of an `extras` dict ({} when absent)."""
    value = (extras or {}).get(ID)
    return value if isinstance(value, dict) else {}


# finishReason -> IR. Choices for the ambiguous ones: a broken or unexpected tool call
# (MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, MISSING_THOUGHT_SIGNATURE)
# means the answer is unusable -> "error"; OTHER / LANGUAGE / unspecified carry a usable answer
# -> "end". STOP with function calls becomes "tool_use" (Gemini says STOP for those).
STOP_FROM_GEMINI = {
    "STOP": "end", "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter", "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter", "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter", "IMAGE_RECITATION": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error", "TOO_MANY_TOOL_CALLS": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
    "OTHER": "end", "LANGUAGE": "end", "FINISH_REASON_UNSPECIFIED": "end", "NO_IMAGE": "end",
    "IMAGE_OTHER": "end",
}
STOP_TO_GEMINI = {
    "end": "STOP", "tool_use": "STOP", "stop_sequence": "STOP", "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY", "error": "OTHER",
}


def parse_finish(raw: Optional[str], has_calls: bool) -> Optional[str]:
    """IR stop reason for a Gemini finishReason; with no finishReason: tool_use if calls, else None."""
    if not raw:
        return "tool_use" if has_calls else None
    if raw == "STOP" and has_calls:
        return "tool_use"
    return STOP_FROM_GEMINI.get(raw, "end")


def render_finish(stop: Optional[str], raw: Optional[str] = None) -> str:
    """finishReason for an IR stop reason; `raw` (the parsed original) wins when it maps back to it."""
    if raw and (STOP_FROM_GEMINI.get(raw, "end") == stop or (raw == "STOP" and stop == "tool_use")):
        return raw
    return STOP_TO_GEMINI.get(stop or "end", "STOP")


def _int(obj: Dict[str, Any], key: str) -> Optional[int]:
    value = get(obj, key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sum(*values: Optional[int]) -> Optional[int]:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def parse_usage(obj: Any) -> Optional[ir.Usage]:
    """IR usage of a response / stream chunk (`usageMetadata`) or of a bare usageMetadata object.

    input = promptTokenCount (already includes cached) + toolUsePromptTokenCount; output =
    candidatesTokenCount + thoughtsTokenCount. Gemini omits zero counts (proto3 JSON), so a
    missing prompt or candidates count in an object that has totalTokenCount means 0.
    """
    if not isinstance(obj, dict):
        return None
    meta = get(obj, "usageMetadata")
    if isinstance(meta, dict):
        obj = meta
    elif not any(has(obj, k) for k in ("promptTokenCount", "candidatesTokenCount", "totalTokenCount")):
        return None
    zero = 0 if has(obj, "totalTokenCount") else None
    prompt, tool_use = _int(obj, "promptTokenCount"), _int(obj, "toolUsePromptTokenCount")
    candidates, thoughts = _int(obj, "candidatesTokenCount"), _int(obj, "thoughtsTokenCount")
    return ir.Usage(
        input_tokens=_sum(prompt, tool_use, zero),
        output_tokens=_sum(candidates, thoughts, zero),
        cache_read_tokens=_int(obj, "cachedContentTokenCount"),
        reasoning_tokens=thoughts)


def render_usage(usage: Optional[ir.Usage]) -> Dict[str, Any]:
    """usageMetadata for IR usage; always has prompt / candidates / total counts (0 when unknown).

    Cache-creation tokens have no Gemini field; they stay inside promptTokenCount.
    """
    usage = usage or ir.Usage()
    prompt, output = usage.input_tokens or 0, usage.output_tokens or 0
    thoughts = usage.reasoning_tokens
    meta = {"promptTokenCount": prompt, "candidatesTokenCount": max(0, output - (thoughts or 0)),
            "totalTokenCount": prompt + output}
    if thoughts is not None:
        meta["thoughtsTokenCount"] = thoughts
    if usage.cache_read_tokens is not None:
        meta["cachedContentTokenCount"] = usage.cache_read_tokens
    return meta


_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


class CallIds:
    """Deterministic tool-call ids for one request or response (Gemini calls often have no id).

    Synthesised ids are `call_<prefix>_<n>`, n counting calls in order, so the same history
    always gets the same ids; they match `^[a-zA-Z0-9_-]+$` (Anthropic's rule) and stay within
    OpenAI's 40-character limit. A functionResponse without id takes the oldest unanswered call
    of the same name. Instances are per request / per stream (never shared).
    """

    def __init__(self, prefix: str = ""):
        self.prefix = (_UNSAFE_ID.sub("", prefix or "")[:24]) or ID
        self.count = 0
        self.pending: Dict[str, List[str]] = {}

    def _next(self) -> str:
        self.count += 1
        return "call_%s_%d" % (self.prefix, self.count - 1)

    def for_call(self, raw_id: Optional[str], name: str) -> str:
        """The id of a functionCall (its own id when it has one)."""
        call_id = raw_id or self._next()
        if raw_id:
            self.count += 1
        self.pending.setdefault(name, []).append(call_id)
        return call_id

    def for_result(self, raw_id: Optional[str], name: str) -> str:
        """The call id a functionResponse answers."""
        queue = self.pending.get(name, [])
        if raw_id:
            if raw_id in queue:
                queue.remove(raw_id)
            return raw_id
        return queue.pop(0) if queue else self._next()
