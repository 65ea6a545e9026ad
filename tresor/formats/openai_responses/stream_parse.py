"""Responses SSE stream -> IR stream events (parse_stream).

Mapping: one IR part per reasoning / function_call item and per content part of a message item.
A reasoning item's summary parts (or raw `reasoning_text` parts) form one IR Reasoning part, the
segments joined by a "\\n\\n" Delta of its own. Part extras ("openai_responses") carry what a
same-family renderer needs: on PartStart the `output_item.added` item (`added` / `added_item`),
the `content_part.added` part (`added_part`), the reasoning `mode` (summary | content) and items
the IR cannot hold that came before (`before_items`); on PartStop the final item from
`output_item.done` (`item`: encrypted_content, ids, status) and the final content part (`part`).

Tolerated: missing lifecycle events (parts are opened by whatever event comes first), deltas
without `.done` and `.done` without deltas, `data: [DONE]`, keep-alive comments, unknown event
types, and a stream that stops without `response.completed` (Finish is emitted anyway). Usage
comes from `response.usage` of the terminal event. `response.failed` and `error` -> ir.Error.
Not carried: events of hosted tools (web_search_call.searching, …) and opaque items after the
last part.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional, Tuple

from tresor.formats import ir
from tresor.formats.openai_responses import errors
from tresor.formats.openai_responses import items as it
from tresor.formats.openai_responses.items import F
from tresor.formats.openai_responses.response import parse_usage, stop_reason_of
from tresor.formats.sse import SSEEvent


def _created_s(value) -> Optional[int]:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class _Parser:
    """Per-stream state (one instance per parse_stream call); each on_* returns IR events."""

    def __init__(self):
        self.is_started = False
        self.is_done = False
        self.next_index = 0
        self.index: Dict[tuple, int] = {}  # ("item", oi) | ("content", oi, ci) -> IR index
        self.open: Dict[int, tuple] = {}  # IR index -> key, for parts not yet stopped
        self.has_delta: set = set()  # IR indexes (and (index, segment) pairs) that got content
        self.added: Dict[int, dict] = {}  # output_index -> item of output_item.added
        self.item_oi: Dict[str, int] = {}  # item id -> output_index
        self.waiting: Dict[int, dict] = {}  # reasoning items not opened yet (mode unknown)
        self.segment: Dict[int, tuple] = {}  # reasoning IR index -> current segment
        self.pending: List[dict] = []  # opaque {"added", "done"} items for the next PartStart
        self.messages: set = set()  # output indexes of message items with an open content part
        self.saw_tool = False
        self.max_oi = -1  # the highest output_index seen

    # -- helpers ---------------------------------------------------------------------------------

    def start(self, response=None) -> List[Any]:
        if self.is_started:
            return []
        self.is_started = True
        response = response if isinstance(response, dict) else {}
        return [ir.Start(id=str(response.get("id") or ""), model=str(response.get("model") or ""),
                         created_s=_created_s(response.get("created_at")),
                         extras={F: {"response": response}} if response else {})]

    def oi(self, payload) -> int:
        """The event's output_index; servers that omit it get one from the item id, or the next free one."""
        value = payload.get("output_index")
        if not isinstance(value, int):
            item = payload.get("item") if isinstance(payload.get("item"), dict) else {}
            key = payload.get("item_id") or item.get("id")
            if isinstance(key, str) and key in self.item_oi:
                value = self.item_oi[key]
            else:
                value = self.max_oi + 1 if item else max(self.max_oi, 0)
        self.max_oi = max(self.max_oi, value)
        return value

    def _open(self, key: tuple, part) -> Tuple[List[Any], int]:
        events = self.start()
        if self.pending:
            it.mark(part, before_items=self.pending)
            self.pending = []
        index = self.next_index
        self.next_index += 1
        self.index[key] = index
        self.open[index] = key
        events.append(ir.PartStart(index, part))
        return events, index

    def _flush_waiting(self) -> List[Any]:
        events: List[Any] = []
        for oi in sorted(self.waiting):
            events += self._reasoning(oi, "summary")[0]
        return events

    def _reasoning(self, oi: int, mode: str) -> Tuple[List[Any], int]:
        key = ("item", oi)
        if key in self.index:
            return [], self.index[key]
        part = ir.Reasoning("")
        added = self.waiting.pop(oi, None) or self.added.get(oi)
        it.mark(part, mode=mode, **({"added": added} if added else {}))
        return self._open(key, part)

    def _segment(self, index: int, segment: tuple) -> List[Any]:
        """A "\\n\\n" Delta when reasoning moves on to its next summary / content part."""
        current = self.segment.get(index)
        self.segment[index] = segment
        return [ir.Delta(index, text="\n\n")] if current is not None and current != segment else []

    def _content(self, oi: int, ci: int, cls, payload: dict, added_part=None) -> Tuple[List[Any], int]:
        key = ("content", oi, ci)
        if key in self.index:
            return [], self.index[key]
        item = self.added.get(oi) or {}
        marks: Dict[str, Any] = {"item_id": payload.get("item_id") or item.get("id"), "content_index": ci}
        if oi not in self.messages and item:
            marks["added_item"] = item
        if added_part is not None:
            marks["added_part"] = added_part
        self.messages.add(oi)
        part = cls("")
        it.mark(part, **marks)
        return self._open(key, part)

    def _tool(self, oi: int, payload: dict) -> Tuple[List[Any], int]:
        key = ("item", oi)
        if key in self.index:
            return [], self.index[key]
        item = self.added.get(oi) or payload.get("item")
        if not isinstance(item, dict):
            item = {}
        call_id = item.get("call_id") or item.get("id") or payload.get("item_id") or "call_%d" % oi
        part = ir.ToolCall(id=str(call_id), name=str(item.get("name") or ""))
        if item:
            it.mark(part, added=item)
        self.saw_tool = True
        return self._open(key, part)

    def _text_delta(self, index: int, text, done: bool = False, segment=None) -> List[Any]:
        """A Delta for new content; for a `.done` event only when no delta brought the content."""
        mark = (index, segment) if segment is not None else index
        if not isinstance(text, str) or not text or (done and mark in self.has_delta):
            return []
        self.has_delta.add(mark)
        self.has_delta.add(index)
        return [ir.Delta(index, text=text)]

    # -- lifecycle -------------------------------------------------------------------------------

    def on_lifecycle(self, payload) -> List[Any]:
        return self.start(payload.get("response"))

    def on_item_added(self, payload) -> List[Any]:
        item, oi = payload.get("item"), self.oi(payload)
        events = self.start() + self._flush_waiting()
        if not isinstance(item, dict):
            return events
        self.added[oi] = item
        for key in (item.get("id"), item.get("call_id")):
            if key and isinstance(key, str):
                self.item_oi[key] = oi
        kind = it.item_kind(item)
        if kind == "function_call":
            opened, index = self._tool(oi, payload)
            events += opened
            if isinstance(item.get("arguments"), str) and item["arguments"]:
                self.has_delta.add(index)
                events.append(ir.Delta(index, arguments=item["arguments"]))
        elif kind == "reasoning":
            self.waiting[oi] = item
        return events

    def on_item_done(self, payload) -> List[Any]:
        item, oi = payload.get("item"), self.oi(payload)
        if not isinstance(item, dict):
            return self.start()
        kind = it.item_kind(item)
        if kind == "reasoning":
            events, index = self._reasoning(oi, "content" if item.get("content") and not item.get("summary")
                                            else "summary")
            events += self._text_delta(index, it.reasoning_text(item), done=True)
        elif kind == "function_call":
            events, index = self._tool(oi, {"item": item})
            if index not in self.has_delta and isinstance(item.get("arguments"), str) and item["arguments"]:
                self.has_delta.add(index)
                events.append(ir.Delta(index, arguments=item["arguments"]))
        elif kind == "message":
            return self.start() + self._close_message(oi, item)
        else:
            self.pending.append({"added": self.added.get(oi, item), "done": item})
            return self.start()
        events.append(ir.PartStop(index, {F: {"item": item}}))
        self.open.pop(index, None)
        return events

    def _close_message(self, oi: int, item: dict) -> List[Any]:
        events: List[Any] = []
        content = item.get("content") if isinstance(item.get("content"), list) else []
        for ci, raw in enumerate(content):
            kind = raw.get("type") if isinstance(raw, dict) else None
            if kind in ("output_text", "refusal") and ("content", oi, ci) not in self.index:
                cls, field = (ir.Refusal, "refusal") if kind == "refusal" else (ir.Text, "text")
                opened, index = self._content(oi, ci, cls, {"item_id": item.get("id")})
                events += opened + self._text_delta(index, raw.get(field), done=True)
        keys = sorted(k for k in self.index if k[0] == "content" and k[1] == oi and self.index[k] in self.open)
        for position, key in enumerate(keys):
            extras: Dict[str, Any] = {"item": item} if position == 0 else {}
            if key[2] < len(content):
                extras["part"] = content[key[2]]
            events.append(ir.PartStop(self.index[key], {F: extras}))
            self.open.pop(self.index[key], None)
        return events

    def _close_all(self, output) -> List[Any]:
        """Stop every open part, with the final items of `output` when the terminal event has them."""
        events = self._flush_waiting()
        output = output if isinstance(output, list) else []
        by_oi = {oi: output[oi] for oi in range(len(output)) if isinstance(output[oi], dict)}
        for oi in sorted({key[1] for key in self.open.values()}):
            item = by_oi.get(oi)
            if item is not None and it.item_kind(item) in it.ASSISTANT_KINDS:
                events += self.on_item_done({"output_index": oi, "item": item})
        for index in sorted(self.open):
            events.append(ir.PartStop(index))
        self.open.clear()
        return events

    def on_terminal(self, payload) -> List[Any]:
        response = payload.get("response") if isinstance(payload.get("response"), dict) else {}
        events = self.start(response) + self._close_all(response.get("output"))
        stop = stop_reason_of(response) or ("end" if payload.get("type") != "response.incomplete" else "max_tokens")
        if stop == "end" and self.saw_tool:
            stop = "tool_use"
        events.append(ir.Finish(stop_reason=stop, usage=parse_usage(response) or ir.Usage()))
        self.is_done = True
        return events

    def on_error(self, payload) -> List[Any]:
        self.is_done = True
        return [errors.parse_error(200, payload)]

    def end(self) -> List[Any]:
        """The stream stopped without a terminal event: close what is open and finish anyway."""
        if self.is_done:
            return []
        events = self.start() + self._close_all(None)
        events.append(ir.Finish(stop_reason="tool_use" if self.saw_tool else "end", usage=ir.Usage()))
        return events

    # -- content events --------------------------------------------------------------------------

    def on_part_added(self, payload) -> List[Any]:
        oi, ci, part = self.oi(payload), payload.get("content_index") or 0, payload.get("part")
        part = part if isinstance(part, dict) else {}
        kind = part.get("type")
        if kind == "reasoning_text" or it.item_kind(self.added.get(oi)) == "reasoning":
            events, index = self._reasoning(oi, "content")
            return events + self._segment(index, ("c", ci))
        cls = ir.Refusal if kind == "refusal" else ir.Text
        events, index = self._content(oi, ci, cls, payload, added_part=part)
        return events + self._text_delta(index, part.get("refusal" if cls is ir.Refusal else "text"))

    def on_text(self, payload) -> List[Any]:
        is_refusal = payload.get("type", "").startswith("response.refusal")
        is_done = payload.get("type", "").endswith(".done")
        cls = ir.Refusal if is_refusal else ir.Text
        events, index = self._content(self.oi(payload), payload.get("content_index") or 0, cls, payload)
        text = payload.get(("refusal" if is_refusal else "text") if is_done else "delta")
        return events + self._text_delta(index, text, done=is_done)

    def on_arguments(self, payload) -> List[Any]:
        events, index = self._tool(self.oi(payload), payload)
        is_done = payload.get("type", "").endswith(".done")
        text = payload.get("arguments" if is_done else "delta")
        if not isinstance(text, str) or not text or (is_done and index in self.has_delta):
            return events
        self.has_delta.add(index)
        return events + [ir.Delta(index, arguments=text)]

    def on_reasoning(self, payload) -> List[Any]:
        kind = payload.get("type", "")
        is_summary = "summary" in kind
        segment = ("s", payload.get("summary_index") or 0) if is_summary else ("c", payload.get("content_index") or 0)
        events, index = self._reasoning(self.oi(payload), "summary" if is_summary else "content")
        events += self._segment(index, segment)
        if kind.endswith(".delta"):
            return events + self._text_delta(index, payload.get("delta"), segment=segment)
        if kind.endswith("text.done"):
            return events + self._text_delta(index, payload.get("text"), done=True, segment=segment)
        return events


_HANDLERS = {
    "response.created": _Parser.on_lifecycle,
    "response.in_progress": _Parser.on_lifecycle,
    "response.queued": _Parser.on_lifecycle,
    "response.output_item.added": _Parser.on_item_added,
    "response.output_item.done": _Parser.on_item_done,
    "response.content_part.added": _Parser.on_part_added,
    "response.output_text.delta": _Parser.on_text,
    "response.output_text.done": _Parser.on_text,
    "response.refusal.delta": _Parser.on_text,
    "response.refusal.done": _Parser.on_text,
    "response.function_call_arguments.delta": _Parser.on_arguments,
    "response.function_call_arguments.done": _Parser.on_arguments,
    "response.reasoning_summary_part.added": _Parser.on_reasoning,
    "response.reasoning_summary_text.delta": _Parser.on_reasoning,
    "response.reasoning_summary_text.done": _Parser.on_reasoning,
    "response.reasoning_text.delta": _Parser.on_reasoning,
    "response.reasoning_text.done": _Parser.on_reasoning,
    "response.completed": _Parser.on_terminal,
    "response.incomplete": _Parser.on_terminal,
    "response.failed": _Parser.on_error,
    "error": _Parser.on_error,
}


def parse_stream(events: Iterator[SSEEvent]) -> Iterator[Any]:
    """IR stream events for a Responses SSE stream (a generator; see the module docstring)."""
    parser = _Parser()
    for event in events:
        data = event.data.strip()
        if data == "[DONE]":
            break
        try:
            payload = json.loads(data)
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type")
        if not isinstance(kind, str) or not kind:  # missing or malformed: the SSE event name decides
            kind = event.event or ""
            payload = dict(payload, type=kind)
        handler = _HANDLERS.get(kind)
        if handler is None:
            continue
        yield from handler(parser, payload)
        if parser.is_done:
            return
    yield from parser.end()
