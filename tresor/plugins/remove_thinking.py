"""remove_thinking: strip reasoning from responses and streams, in all four wire formats.

Contract: tresor/plugins/base.py. Each format is two small functions (a body stripper and a stream
generator) found through the dispatch tables at the bottom; per-stream state (which blocks or
output items were dropped) lives in the generator's locals and resets on the terminal event.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List

from tresor.formats.sse import SSEEvent, json_object, with_json
from tresor.plugins.base import Plugin

# `reasoning_content`: DeepSeek, llama.cpp, SGLang; `reasoning`: vLLM >= 0.10, OpenRouter, Ollama;
# `reasoning_details`: OpenRouter's structured copy of the same text.
_OPENAI_KEYS = ("reasoning_content", "reasoning", "reasoning_details")
_ANTHROPIC_BLOCKS = frozenset(("thinking", "redacted_thinking"))
_INDEXED = frozenset(("content_block_start", "content_block_delta", "content_block_stop"))
_LIFECYCLE = frozenset(("response.created", "response.queued", "response.in_progress",
                        "response.completed", "response.incomplete", "response.failed"))
_TERMINAL = frozenset(("response.completed", "response.incomplete", "response.failed"))
_ITEM_EVENTS = frozenset(("response.output_item.added", "response.output_item.done"))


def _shifted(index: Any, dropped: List[int]) -> Any:
    """`index` renumbered past the dropped ones, so the client sees 0, 1, 2... without gaps."""
    if not isinstance(index, int):
        return index
    return index - sum(1 for d in dropped if isinstance(d, int) and d < index)


# ---- OpenAI Chat Completions


def _pop_reasoning(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    found = [key for key in _OPENAI_KEYS if key in message]
    for key in found:
        del message[key]
    return bool(found)


def _strip_openai(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    changed = False
    for choice in body.get("choices") or ():
        if isinstance(choice, dict):
            in_message = _pop_reasoning(choice.get("message"))
            in_delta = _pop_reasoning(choice.get("delta"))
            changed = changed or in_message or in_delta
    return changed


def _openai_chunk_matters(chunk: Dict[str, Any]) -> bool:
    """Whether a chunk stripped of reasoning still carries a role, content, tool call, finish or usage."""
    if chunk.get("usage") or not chunk.get("choices"):
        return True
    for choice in chunk["choices"]:
        if not isinstance(choice, dict) or choice.get("finish_reason") is not None:
            return True
        delta = choice.get("delta")
        if isinstance(delta, dict) and any(delta.values()):  # None, "", [] and {} carry nothing
            return True
    return False


def _stream_openai(events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
    for ev in events:
        # Cheap pre-filter: a chunk without the substring cannot carry a reasoning key.
        chunk = json_object(ev.data) if '"reasoning' in ev.data else None
        if chunk is None or not _strip_openai(chunk):
            yield ev
        elif _openai_chunk_matters(chunk):
            yield with_json(ev, chunk)


# ---- Anthropic Messages


def _strip_anthropic(message: Any) -> bool:
    """Drop thinking/redacted_thinking blocks and `usage.thinking_tokens` from a message object."""
    if not isinstance(message, dict):
        return False
    changed = False
    content = message.get("content")
    if isinstance(content, list):
        kept = [b for b in content if not (isinstance(b, dict) and b.get("type") in _ANTHROPIC_BLOCKS)]
        if len(kept) != len(content):
            message["content"], changed = kept, True
    usage = message.get("usage")
    if isinstance(usage, dict) and "thinking_tokens" in usage:
        del usage["thinking_tokens"]
        changed = True
    return changed


def _block_type(obj: Dict[str, Any]) -> Any:
    block = obj.get("content_block")
    return block.get("type") if isinstance(block, dict) else None


def _stream_anthropic(events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
    # Only the events of a thinking block's own index are dropped (Go commit 4949a0b); later
    # blocks are renumbered because the Anthropic SDK indexes its content list by `index`.
    dropped: List[int] = []  # upstream indexes of the thinking blocks of the current message
    for ev in events:
        obj = json_object(ev.data) if dropped or "thinking" in ev.data else None
        if obj is None:
            yield ev
            continue
        kind, index = obj.get("type"), obj.get("index")
        if kind == "content_block_start" and _block_type(obj) in _ANTHROPIC_BLOCKS:
            dropped.append(index)
            continue
        if kind in _INDEXED and index in dropped:
            continue
        changed = False
        if kind in _INDEXED and _shifted(index, dropped) != index:
            obj["index"], changed = _shifted(index, dropped), True
        elif kind == "message_start":
            changed = _strip_anthropic(obj.get("message"))
        elif kind == "message_delta":
            changed = _strip_anthropic(obj)
        elif kind == "message_stop":
            dropped = []
        yield with_json(ev, obj) if changed else ev


# ---- OpenAI Responses


def _item_type(obj: Dict[str, Any]) -> Any:
    item = obj.get("item")
    return item.get("type") if isinstance(item, dict) else None


def _strip_responses(body: Any) -> bool:
    """Drop `reasoning` items from a response object's `output`."""
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, list):
        return False
    kept = [item for item in output if not (isinstance(item, dict) and item.get("type") == "reasoning")]
    if len(kept) == len(output):
        return False
    body["output"] = kept
    return True


def _is_reasoning(kind: str, index: Any, obj: Dict[str, Any], dropped: List[int]) -> bool:
    """Whether a Responses event belongs to a reasoning item (its own events or an item event of one)."""
    if kind.startswith("response.reasoning") or (index is not None and index in dropped):
        return True
    return kind in _ITEM_EVENTS and _item_type(obj) == "reasoning"


def _stream_responses(events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
    # output_index of later items is renumbered: the openai SDK's responses.stream() keys its
    # snapshot by output_index, and Codex expects it monotonic from 0 (Go commits 079d203, 4aa56ad);
    # sequence_number is renumbered too, so it stays consecutive as upstream sends it.
    dropped: List[int] = []  # output_index of the reasoning items of the current response
    skipped = 0  # events dropped so far in the current response
    for ev in events:
        obj = json_object(ev.data) if dropped or skipped or "reasoning" in ev.data else None
        if obj is None:
            yield ev
            continue
        kind, index = obj.get("type") or "", obj.get("output_index")
        if _is_reasoning(kind, index, obj, dropped):
            if kind in _ITEM_EVENTS and index not in dropped:
                dropped.append(index)
            skipped += 1
            continue
        changed = kind in _LIFECYCLE and _strip_responses(obj.get("response"))
        if _shifted(index, dropped) != index:
            obj["output_index"], changed = _shifted(index, dropped), True
        if skipped and isinstance(obj.get("sequence_number"), int):
            obj["sequence_number"], changed = obj["sequence_number"] - skipped, True
        if kind in _TERMINAL:
            dropped, skipped = [], 0
        yield with_json(ev, obj) if changed else ev


# ---- Gemini


def _strip_gemini(body: Any) -> bool:
    """Drop `thought: true` parts; `body` may be the JSON array of a streamGenerateContent without alt=sse."""
    if isinstance(body, list):
        return any([_strip_gemini(chunk) for chunk in body])
    if not isinstance(body, dict):
        return False
    changed = False
    for candidate in body.get("candidates") or ():
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list):
            continue
        kept = [p for p in parts if not (isinstance(p, dict) and p.get("thought") is True)]
        if len(kept) != len(parts):
            content["parts"], changed = kept, True
    return changed


def _gemini_chunk_matters(chunk: Dict[str, Any]) -> bool:
    """Whether a chunk stripped of thoughts still carries parts, a finishReason, usage or feedback."""
    if chunk.get("usageMetadata") or chunk.get("promptFeedback"):
        return True
    for candidate in chunk.get("candidates") or ():
        if not isinstance(candidate, dict) or candidate.get("finishReason"):
            return True
        if (candidate.get("content") or {}).get("parts"):
            return True
    return False


def _stream_gemini(events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
    for ev in events:
        # `"thought"` (with both quotes) matches neither thoughtSignature nor thoughtsTokenCount.
        chunk = json_object(ev.data) if '"thought"' in ev.data else None
        if chunk is None or not _strip_gemini(chunk):
            yield ev
        elif _gemini_chunk_matters(chunk):
            yield with_json(ev, chunk)


_RESPONSE = {
    "openai": _strip_openai,
    "anthropic": _strip_anthropic,
    "openai_responses": _strip_responses,
    "gemini": _strip_gemini,
}
_STREAM = {
    "openai": _stream_openai,
    "anthropic": _stream_anthropic,
    "openai_responses": _stream_responses,
    "gemini": _stream_gemini,
}


class RemoveThinking(Plugin):
    id = "remove_thinking"
    changes_body = False
    description = ("Removes the model's reasoning from responses and streams, so clients that cannot show "
                   "it (or must not see it) get only the answer: OpenAI reasoning_content/reasoning "
                   "(DeepSeek, vLLM, llama.cpp), Anthropic thinking and redacted_thinking blocks, Responses "
                   "reasoning items and response.reasoning* events, Gemini parts with thought: true. In "
                   "streams only the events of the thinking block or item itself are dropped, and later "
                   "block indexes and output_index values are renumbered from 0 so SDK accumulators "
                   "(Anthropic get_final_message, openai responses.stream) still line up.")
    config_schema = {"type": "object", "properties": {}}

    def response(self, x, body: Any) -> Any:
        """Strip reasoning from a complete body in `x.format` (changed in place); other formats untouched."""
        strip = _RESPONSE.get(x.format)
        if strip is not None:
            strip(body)
        return body

    def stream(self, x, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        """The events without reasoning; a chunk is dropped only when nothing else is left in it.

        `x.format` is read now, at call time (not lazily at the first event), so a later converter
        step changing it cannot switch the dialect mid-stream.
        """
        strip = _STREAM.get(x.format)
        return iter(events) if strip is None else strip(events)
