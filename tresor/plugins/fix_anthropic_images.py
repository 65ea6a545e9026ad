"""fix_anthropic_images: work around llama.cpp-style Anthropic backends (images in tool results, tool calls in thinking).

Contract: tresor/plugins/base.py. Anthropic format only. The request side moves tool_result
images to the message level, the response side lifts tool_use objects out of thinking, and the
stream generator holds a tool_use block opened inside a thinking block until it is complete.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from tresor.formats.sse import SSEEvent, json_object
from tresor.plugins.base import Plugin

PLACEHOLDER = "(image moved below)"
_OPENERS = re.compile(r"[\[{]")


def _is_image(part: Any) -> bool:
    """A base64 image block (the kind llama.cpp before PR 22536 dropped from tool results)."""
    return (isinstance(part, dict) and part.get("type") == "image" and isinstance(part.get("source"), dict)
            and part["source"].get("type") == "base64")


def _is_tool_result(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_result"


def _has_images(block: Any) -> bool:
    content = block.get("content") if _is_tool_result(block) else None
    return isinstance(content, list) and any(_is_image(part) for part in content)


def _split_blocks(content: List[Any]) -> List[Any]:
    """Content with tool_result images moved out, right after the run of tool_result blocks.

    Each tool_result stays (with its tool_use_id, so the call/result pairing holds) with its other
    content, or a placeholder text when it held only images. The images follow the run of
    consecutive tool_results rather than each one, because the Anthropic API wants a user
    message's tool_result blocks first.
    """
    out: List[Any] = []
    moved: List[Any] = []
    for block in content:
        if moved and not _is_tool_result(block):
            out.extend(moved)
            moved = []
        if not _has_images(block):
            out.append(block)
            continue
        rest = [part for part in block["content"] if not _is_image(part)]
        moved.extend(part for part in block["content"] if _is_image(part))
        out.append(dict(block, content=rest or [{"type": "text", "text": PLACEHOLDER}]))
    out.extend(moved)
    return out


def _promote_images(body: Dict[str, Any]) -> None:
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(_has_images(block) for block in content):
            message["content"] = _split_blocks(content)


def _as_tool_uses(value: Any) -> List[Dict[str, Any]]:
    """`value` (a decoded JSON object or array) as tool_use blocks, or [] when it is not one."""
    items = value if isinstance(value, list) and value else [value]
    if not all(isinstance(v, dict) and v.get("type") == "tool_use" and isinstance(v.get("name"), str)
               for v in items):
        return []
    return [{"type": "tool_use", "id": v.get("id") or "toolu_" + os.urandom(12).hex(), "name": v["name"],
             "input": v["input"] if isinstance(v.get("input"), dict) else {}} for v in items]


def _scan_thinking(text: str) -> Tuple[str, List[Dict[str, Any]]]:
    """(the text without its embedded tool_use JSON, the tool_use blocks found in it)."""
    decoder = json.JSONDecoder()
    calls: List[Dict[str, Any]] = []
    kept: List[str] = []
    done = 0
    match = _OPENERS.search(text)
    while match:
        start = match.start()
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            match = _OPENERS.search(text, start + 1)
            continue
        found = _as_tool_uses(value)
        if found:
            calls.extend(found)
            kept.append(text[done:start])
            done = end
        match = _OPENERS.search(text, end)
    kept.append(text[done:])
    return ("".join(kept).strip() if calls else text), calls


def _lift_tool_uses(body: Dict[str, Any]) -> None:
    """Move tool_use objects written inside thinking text to top-level tool_use blocks (appended last)."""
    content = body.get("content")
    if not isinstance(content, list):
        return
    out: List[Any] = []
    calls: List[Dict[str, Any]] = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "thinking" and isinstance(block.get("thinking"), str):
            text, found = _scan_thinking(block["thinking"])
            if found:
                calls.extend(found)
                block = dict(block, thinking=text) if text else None
        if block is not None:
            out.append(block)
    if not calls:
        return
    known = {b.get("id") for b in out if isinstance(b, dict) and b.get("type") == "tool_use"}
    out.extend(call for call in calls if call["id"] not in known)
    body["content"] = out
    if body.get("stop_reason") in (None, "end_turn"):
        body["stop_reason"] = "tool_use"  # the client runs tools only on this stop reason


def _block_type(obj: Dict[str, Any]) -> Any:
    block = obj.get("content_block")
    return block.get("type") if isinstance(block, dict) else None


def _closed(held: Tuple[Any, List[SSEEvent]]) -> List[SSEEvent]:
    """The held events plus the content_block_stop the upstream never sent."""
    stop = {"type": "content_block_stop", "index": held[0]}
    return held[1] + [SSEEvent(json.dumps(stop, separators=(",", ":")), "content_block_stop")]


def _stream_anthropic(events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
    # Reasoning models on llama.cpp open a tool_use block while the thinking block is still open
    # (Go commits 131fdca, bab09fa); the block is held and re-emitted whole. A new block start
    # flushes it first, so the client still sees starts in index order.
    thinking: set = set()  # indexes of the thinking blocks open in the current message
    held: Optional[Tuple[Any, List[SSEEvent]]] = None  # (index, events) of a held tool_use block
    for ev in events:
        obj = json_object(ev.data) if thinking or held or '"thinking"' in ev.data else None
        kind = obj.get("type") if obj else None
        if held and kind in ("content_block_delta", "content_block_stop") and obj.get("index") == held[0]:
            held[1].append(ev)
            if kind == "content_block_stop":
                yield from held[1]
                held = None
            continue
        if held and kind in ("content_block_start", "message_delta", "message_stop"):
            yield from (held[1] if kind == "content_block_start" else _closed(held))
            held = None
        if kind == "content_block_start" and _block_type(obj) == "thinking":
            thinking.add(obj.get("index"))
        elif kind == "content_block_start" and _block_type(obj) == "tool_use" and thinking:
            held = (obj.get("index"), [ev])
            continue
        elif kind == "content_block_stop":
            thinking.discard(obj.get("index"))
        elif kind == "message_stop":
            thinking.clear()
        yield ev
    if held:
        yield from held[1]


_REQUEST = {"anthropic": _promote_images}
_RESPONSE = {"anthropic": _lift_tool_uses}
_STREAM = {"anthropic": _stream_anthropic}


class FixAnthropicImages(Plugin):
    id = "fix_anthropic_images"
    description = ("Works around llama.cpp-style Anthropic backends. Requests: base64 images inside "
                   "tool_result blocks, which llama.cpp before PR 22536 (ggml-org/llama.cpp#22536) "
                   "silently dropped, are moved out as image blocks of the same message right after the "
                   "tool results; each tool_result keeps its tool_use_id and text (or the placeholder "
                   "\"(image moved below)\"). Responses: tool_use objects that reasoning models wrote "
                   "inside a thinking block are lifted out as real tool_use blocks. Streams: a tool_use "
                   "block opened inside a thinking block is held and sent whole once complete.")
    config_schema = {"type": "object", "properties": {}}

    def request(self, x) -> None:
        """Move tool_result images of an Anthropic `x.body` to the message level; other formats untouched."""
        fix = _REQUEST.get(x.format)
        if fix is not None and isinstance(x.body, dict):
            fix(x.body)

    def response(self, x, body: Dict[str, Any]) -> Dict[str, Any]:
        """Lift tool_use JSON out of thinking blocks of an Anthropic body (changed in place)."""
        fix = _RESPONSE.get(x.format)
        if fix is not None and isinstance(body, dict):
            fix(body)
        return body

    def stream(self, x, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        """The events with each tool_use block nested in a thinking block re-emitted whole.

        `x.format` is read at call time, not lazily at the first event.
        """
        fix = _STREAM.get(x.format)
        return iter(events) if fix is None else fix(events)
