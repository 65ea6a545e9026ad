"""IR stream events -> a Responses SSE stream (render_stream), in the shape strict clients need.

Invariants (openai SDK `responses.stream().get_final_response()`, Codex, Vercel AI SDK):
* `response.created` first (with `id`, `created_at`, `model`), then `response.in_progress`;
* every item announced by `response.output_item.added` before its deltas; a message's text by
  `response.content_part.added` before its `output_text.delta`s;
* `output_index` is the item's position in the final `output` array, so it only grows; each IR
  part is one item, except consecutive content parts of one message item within the family;
* every item closed by its `.done` events and `response.output_item.done` (Codex builds its
  messages from output_item.done), open items closed before the end whatever order the IR has;
* last `response.completed` (`response.incomplete` for max_tokens / content_filter) carrying the
  FULL `output` (the same items as the output_item.done events) and integer `usage`;
* `sequence_number` counts from 0; every event has an `event:` line equal to its type.
An ir.Error becomes the `error` event (see errors.py) followed by `response.failed`.

Regenerated, not carried through the IR: `obfuscation` (dropped), delta `logprobs` (always []),
`response.in_progress` (always sent), `completed_at` and other fields that only the terminal
response object has (the `response.created` object is the template).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional

from tresor.formats import ir
from tresor.formats.openai_responses import errors
from tresor.formats.openai_responses import items as it
from tresor.formats.openai_responses import response as rs
from tresor.formats.openai_responses.items import F, fx
from tresor.formats.sse import SSEEvent


class _Slot:
    """One output item: its output_index, id, the added / final item and the IR parts in it."""

    def __init__(self, kind: str, index: int, added: dict):
        self.kind = kind
        self.index = index
        self.id = added.get("id") or ""
        self.added = added
        self.template: Optional[dict] = None  # the final item from the family, when known
        self.parts: List["_Part"] = []
        self.done: Optional[dict] = None


class _Part:
    """One IR part being rendered."""

    def __init__(self, slot: _Slot, kind: str, content_index: int = 0, px: Optional[dict] = None):
        self.slot = slot
        self.kind = kind  # text | refusal | reasoning | tool
        self.mode = "summary"  # reasoning: summary_text or reasoning_text (content) events
        self.content_index = content_index
        self.px = px or {}
        self.chunks: List[str] = []
        self.segments: List[List[str]] = []  # reasoning: one chunk list per summary / content part
        self.is_segment_open = False
        self.final: Optional[dict] = None
        self.is_stopped = False
        slot.parts.append(self)

    def text(self) -> str:
        return "".join(self.chunks)


_DEFAULT_PART = {"text": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
                 "refusal": {"type": "refusal", "refusal": ""}}


class _Renderer:
    """Per-stream state (one instance per render_stream call); each on_* returns SSE events."""

    def __init__(self, request: Optional[ir.Request]):
        self.request = request
        self.sequence = 0
        self.base: Optional[dict] = None  # the response object of response.created
        self.id_base = ""
        self.slots: List[_Slot] = []
        self.parts: Dict[int, _Part] = {}
        self.ignored: set = set()
        self.message: Optional[_Slot] = None  # the message item later content parts may join
        self.start_usage: Optional[ir.Usage] = None
        self.is_done = False

    def emit(self, kind: str, **fields) -> SSEEvent:
        payload: Dict[str, Any] = {"type": kind, "sequence_number": self.sequence}
        payload.update(fields)
        self.sequence += 1
        return SSEEvent(event=kind, data=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))

    def _new_slot(self, kind: str, added: dict) -> _Slot:
        slot = _Slot(kind, len(self.slots), added)
        self.slots.append(slot)
        return slot

    def _new_id(self, prefix: str) -> str:
        return "%s_%s_%d" % (prefix, self.id_base, len(self.slots))

    # -- start -----------------------------------------------------------------------------------

    def on_start(self, event: ir.Start) -> List[SSEEvent]:
        if self.base is not None:
            return []
        request = self.request
        template = (event.extras.get(F) or {}).get("response")
        model = event.model or (request.model if request is not None else "")
        created = event.created_s if event.created_s is not None else 0
        if template:
            base = dict(template)
            base["id"] = event.id or base.get("id") or rs.response_id("")
            base["model"] = model or base.get("model")
            if not isinstance(base.get("created_at"), (int, float)) or int(base["created_at"]) != created:
                base["created_at"] = created
        else:
            base = rs.skeleton(request, rs.response_id(event.id), created, model)
        self.base = base
        self.id_base = base["id"][5:] if base["id"].startswith("resp_") else base["id"]
        self.start_usage = event.usage
        return [self.emit("response.created", response=base), self.emit("response.in_progress", response=base)]

    def started(self) -> List[SSEEvent]:
        return self.on_start(ir.Start()) if self.base is None else []

    # -- parts -----------------------------------------------------------------------------------

    def on_part_start(self, event: ir.PartStart) -> List[SSEEvent]:
        events = self.started()
        if event.index in self.parts or event.index in self.ignored:
            return events
        part, px = event.part, fx(event.part)
        for pair in px.get("before_items") or []:
            slot = self._new_slot("opaque", pair.get("added") or {})
            slot.done = pair.get("done")
            events += [self.emit("response.output_item.added", output_index=slot.index, item=slot.added),
                       self.emit("response.output_item.done", output_index=slot.index, item=slot.done)]
        if isinstance(part, (ir.Text, ir.Refusal)):
            events += self._start_content(event.index, part, px)
        elif isinstance(part, ir.Reasoning):
            self.message = None
            added = dict(px["added"]) if px.get("added") else {"id": self._new_id("rs"), "type": "reasoning",
                                                                 "summary": []}
            slot = self._new_slot("reasoning", added)
            state = _Part(slot, "reasoning", px=px)
            state.mode = px.get("mode", "summary")
            self.parts[event.index] = state
            events.append(self.emit("response.output_item.added", output_index=slot.index, item=added))
        elif isinstance(part, ir.ToolCall):
            self.message = None
            added = dict(px["added"]) if px.get("added") else {
                "id": it.fc_id(part.id), "type": "function_call", "status": "in_progress", "arguments": "",
                "call_id": part.id, "name": part.name}
            slot = self._new_slot("function_call", added)
            self.parts[event.index] = _Part(slot, "tool", px=px)
            events.append(self.emit("response.output_item.added", output_index=slot.index, item=added))
        else:
            self.ignored.add(event.index)
            return events
        initial = getattr(part, "arguments", "") if isinstance(part, ir.ToolCall) else part.text
        if initial:
            events += self.on_delta(ir.Delta(event.index, text=initial, arguments=initial))
        return events

    def _start_content(self, index: int, part, px: dict) -> List[SSEEvent]:
        events: List[SSEEvent] = []
        kind = "refusal" if isinstance(part, ir.Refusal) else "text"
        slot = self.message
        joins = slot is not None and slot.done is None and px.get("content_index") and px.get("item_id") == slot.id
        if not joins:
            added = dict(px["added_item"]) if px.get("added_item") else {
                "id": self._new_id("msg"), "type": "message", "status": "in_progress", "content": [],
                "role": "assistant"}
            slot = self._new_slot("message", added)
            self.message = slot
            events.append(self.emit("response.output_item.added", output_index=slot.index, item=added))
        content_index = px.get("content_index", len(slot.parts)) if joins or px else len(slot.parts)
        state = _Part(slot, kind, content_index, px)
        self.parts[index] = state
        added_part = px.get("added_part") or _DEFAULT_PART[kind]
        events.append(self.emit("response.content_part.added", item_id=slot.id, output_index=slot.index,
                                content_index=content_index, part=added_part))
        return events

    def on_delta(self, event: ir.Delta) -> List[SSEEvent]:
        events = self.started()
        if event.index in self.ignored:
            return events
        if event.index not in self.parts:  # a delta without PartStart: open the part it implies
            implied = ir.ToolCall("call_%d" % event.index, "") if event.arguments else ir.Text("")
            events += self.on_part_start(ir.PartStart(event.index, implied))
        state = self.parts[event.index]
        if state.is_stopped:
            return events
        slot = state.slot
        if state.kind == "tool":
            if event.arguments:
                state.chunks.append(event.arguments)
                events.append(self.emit("response.function_call_arguments.delta", item_id=slot.id,
                                        output_index=slot.index, delta=event.arguments))
        elif state.kind == "reasoning":
            events += self._reasoning_delta(state, event.text)
        elif event.text:
            state.chunks.append(event.text)
            name = "response.output_text.delta" if state.kind == "text" else "response.refusal.delta"
            extra = {"logprobs": []} if state.kind == "text" else {}
            events.append(self.emit(name, item_id=slot.id, output_index=slot.index,
                                    content_index=state.content_index, delta=event.text, **extra))
        return events

    def _reasoning_delta(self, state: _Part, text: str) -> List[SSEEvent]:
        if not text:
            return []
        # Within the family a lone "\n\n" Delta is the boundary between two summary parts.
        if text == "\n\n" and state.px and state.is_segment_open and state.segments[-1]:
            return self._close_segment(state)
        events: List[SSEEvent] = []
        slot, number = state.slot, len(state.segments) - (1 if state.is_segment_open else 0)
        if not state.is_segment_open:
            state.segments.append([])
            state.is_segment_open = True
            if state.mode == "content":
                events.append(self.emit("response.content_part.added", item_id=slot.id, output_index=slot.index,
                                        content_index=number, part={"type": "reasoning_text", "text": ""}))
            else:
                events.append(self.emit("response.reasoning_summary_part.added", item_id=slot.id,
                                        output_index=slot.index, summary_index=number,
                                        part={"type": "summary_text", "text": ""}))
        state.segments[-1].append(text)
        if state.mode == "content":
            events.append(self.emit("response.reasoning_text.delta", item_id=slot.id, output_index=slot.index,
                                    content_index=number, delta=text))
        else:
            events.append(self.emit("response.reasoning_summary_text.delta", item_id=slot.id,
                                    output_index=slot.index, summary_index=number, delta=text))
        return events

    def _close_segment(self, state: _Part) -> List[SSEEvent]:
        state.is_segment_open = False
        slot, number, text = state.slot, len(state.segments) - 1, "".join(state.segments[-1])
        if state.mode == "content":
            part = {"type": "reasoning_text", "text": text}
            return [self.emit("response.reasoning_text.done", item_id=slot.id, output_index=slot.index,
                              content_index=number, text=text),
                    self.emit("response.content_part.done", item_id=slot.id, output_index=slot.index,
                              content_index=number, part=part)]
        return [self.emit("response.reasoning_summary_text.done", item_id=slot.id, output_index=slot.index,
                          summary_index=number, text=text),
                self.emit("response.reasoning_summary_part.done", item_id=slot.id, output_index=slot.index,
                          summary_index=number, part={"type": "summary_text", "text": text})]

    # -- stops -----------------------------------------------------------------------------------

    def on_part_stop(self, event: ir.PartStop, status: str = "completed") -> List[SSEEvent]:
        state = self.parts.get(event.index)
        if state is None or state.is_stopped:
            return []
        state.is_stopped = True
        px = event.extras.get(F) or {}
        template, added = px.get("item"), state.slot.added
        # Use the family's final item only when it is the item announced (ids and type equal):
        # the SDK rejects an output_item.done whose identity differs from output_item.added.
        if isinstance(template, dict) and all(template.get(k) == added.get(k) for k in ("id", "type", "call_id")):
            state.slot.template = template
        if state.kind == "tool":
            return self._stop_tool(state)
        if state.kind == "reasoning":
            return self._stop_reasoning(state)
        return self._stop_content(state, px.get("part"), status)

    def _stop_tool(self, state: _Part) -> List[SSEEvent]:
        slot, events = state.slot, []
        if not state.chunks and slot.template is None:  # clients JSON-parse the arguments: never ""
            events += self.on_delta_raw(state, "{}")
        arguments = state.text()
        events.append(self.emit("response.function_call_arguments.done", item_id=slot.id, output_index=slot.index,
                                arguments=arguments))
        if slot.template is not None:
            slot.done = dict(slot.template)
        else:
            slot.done = dict(slot.added, status="completed", arguments=arguments)
        events.append(self.emit("response.output_item.done", output_index=slot.index, item=slot.done))
        return events

    def on_delta_raw(self, state: _Part, arguments: str) -> List[SSEEvent]:
        state.chunks.append(arguments)
        return [self.emit("response.function_call_arguments.delta", item_id=state.slot.id,
                          output_index=state.slot.index, delta=arguments)]

    def _stop_reasoning(self, state: _Part) -> List[SSEEvent]:
        slot = state.slot
        events = self._close_segment(state) if state.is_segment_open else []
        texts = ["".join(chunks) for chunks in state.segments]
        if slot.template is not None:
            slot.done = dict(slot.template)
        elif state.mode == "content":
            slot.done = dict(slot.added, summary=[], content=[{"type": "reasoning_text", "text": t} for t in texts])
        else:
            slot.done = dict(slot.added, summary=[{"type": "summary_text", "text": t} for t in texts])
        events.append(self.emit("response.output_item.done", output_index=slot.index, item=slot.done))
        return events

    def _stop_content(self, state: _Part, template: Optional[dict], status: str) -> List[SSEEvent]:
        slot, text, key = state.slot, state.text(), "refusal" if state.kind == "refusal" else "text"
        state.final = dict(template if template is not None else _DEFAULT_PART[state.kind])
        state.final[key] = text
        fields = dict(item_id=slot.id, output_index=slot.index, content_index=state.content_index)
        if state.kind == "text":
            events = [self.emit("response.output_text.done", text=text, logprobs=[], **fields)]
        else:
            events = [self.emit("response.refusal.done", refusal=text, **fields)]
        events.append(self.emit("response.content_part.done", part=state.final, **fields))
        if all(p.is_stopped for p in slot.parts):
            events.append(self._close_message(slot, status))
        return events

    def _close_message(self, slot: _Slot, status: str) -> SSEEvent:
        parts = sorted(slot.parts, key=lambda p: p.content_index)
        if slot.template is not None:
            done = dict(slot.template)
            content = list(done.get("content") or [])
            for part in parts:
                if part.content_index < len(content):
                    content[part.content_index] = part.final
                else:
                    content.append(part.final)
            done["content"] = content
        else:
            done = dict(slot.added, status=status, content=[p.final for p in parts])
        slot.done = done
        if self.message is slot:
            self.message = None
        return self.emit("response.output_item.done", output_index=slot.index, item=done)

    # -- the end ---------------------------------------------------------------------------------

    def on_finish(self, event: ir.Finish) -> List[SSEEvent]:
        events = self.started()
        status, incomplete = rs.status_of(event.stop_reason)
        item_status = "incomplete" if status == "incomplete" else "completed"
        for index in sorted(self.parts, key=lambda i: (self.parts[i].slot.index, self.parts[i].content_index)):
            events += self.on_part_stop(ir.PartStop(index), item_status)
        final = dict(self.base, status=status, incomplete_details=incomplete)
        if status == "failed":
            final["error"] = dict(rs.FAILED_ERROR)
        final["output"] = [slot.done for slot in self.slots if slot.done is not None]
        final["usage"] = rs.render_usage(_merge_usage(event.usage, self.start_usage))
        kind = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(status, "response.failed")
        events.append(self.emit(kind, response=final))
        self.is_done = True
        return events

    def on_error(self, event: ir.Error) -> List[SSEEvent]:
        self.is_done = True
        payload = errors.stream_error_payload(event, self.sequence)
        self.sequence += 1
        events = [SSEEvent(event="error", data=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))]
        if self.base is not None:  # what the API itself sends after `error`: a failed response
            failed = dict(self.base, status="failed", error={"code": event.code or errors.error_type(event),
                                                              "message": event.message})
            failed["output"] = [slot.done for slot in self.slots if slot.done is not None]
            events.append(self.emit("response.failed", response=failed))
        return events


def _merge_usage(usage: Optional[ir.Usage], early: Optional[ir.Usage]) -> ir.Usage:
    """Finish's usage, with counts it lacks taken from Start's (input tokens reported early)."""
    usage = usage or ir.Usage()
    if early is None:
        return usage
    names = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens")
    return ir.Usage(**{n: getattr(usage, n) if getattr(usage, n) is not None else getattr(early, n) for n in names})


_HANDLERS = {ir.Start: _Renderer.on_start, ir.PartStart: _Renderer.on_part_start, ir.Delta: _Renderer.on_delta,
             ir.PartStop: _Renderer.on_part_stop, ir.Finish: _Renderer.on_finish, ir.Error: _Renderer.on_error}


def render_stream(events: Iterator[Any], request: Optional[ir.Request]) -> Iterator[SSEEvent]:
    """Responses SSE events for an IR event stream (a generator; see the module docstring)."""
    renderer = _Renderer(request)
    for event in events:
        handler = _HANDLERS.get(type(event))
        if handler is None:
            continue
        yield from handler(renderer, event)
        if renderer.is_done:
            return
    yield from renderer.on_finish(ir.Finish(stop_reason="end"))
