"""Gemini `?alt=sse` streams <-> IR stream events.

Each `data:` event is a whole GenerateContentResponse holding only this chunk's new parts: text
parts are deltas, a functionCall arrives whole, thought parts have `thought: true`; finishReason
and usageMetadata come on the last chunk(s). Per-stream state lives in a parser / renderer object
created inside each generator call (never shared). PartStop extras["gemini"] of a tool call hold
the same keys as a whole response's ToolCall (parts.py); stream-only keys: `lead_part` (PartStart
part: a signature-only part that came before it), `signature_part` (PartStop: the empty
signature-carrying part that came after it; both re-emitted verbatim) and `thoughtSignature` on a
text / reasoning PartStop (a signature that came on a delta).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional

from tresor.formats import ir
from tresor.formats.gemini.parts import parse_part, render_part
from tresor.formats.gemini.response import parse_error, render_stream_error
from tresor.formats.gemini.wire import (ID, CallIds, compact, ext, get, has, parse_finish, parse_usage, render_finish,
                                        render_usage, rest)
from tresor.formats.sse import SSEEvent


def _extras(ex: Dict[str, Any]) -> Dict[str, Any]:
    return {ID: ex} if ex else {}


class _Parser:
    """State of one parse_stream call. Fixes the Go translator bugs (upstream-tresor.md §4.11):
    every part of every chunk, the first chunk included, is processed in order."""

    def __init__(self) -> None:
        self.is_started = False
        self.next_index = 0
        self.open: Optional[List[Any]] = None  # [index, kind, extras dict for PartStop]
        self.lead: Optional[Dict[str, Any]] = None
        self.ids = CallIds()
        self.finish: Optional[str] = None
        self.usage: Optional[ir.Usage] = None
        self.has_calls = False
        self.is_blocked = False

    def start(self, body: Dict[str, Any]) -> List[ir.StreamEvent]:
        self.is_started = True
        self.ids = CallIds(get(body, "responseId") or "")
        usage = parse_usage(body)
        early = ir.Usage(input_tokens=usage.input_tokens) if usage and usage.input_tokens else None
        return [ir.Start(id=get(body, "responseId") or "", model=get(body, "modelVersion") or "",
                         usage=early)]

    def chunk(self, body: Dict[str, Any]) -> List[ir.StreamEvent]:
        out = [] if self.is_started else self.start(body)
        self.usage = parse_usage(body) or self.usage  # usage may repeat on several chunks: last wins
        candidates = get(body, "candidates")
        candidate = next((c for c in candidates if isinstance(c, dict) and not get(c, "index")), {}) \
            if isinstance(candidates, list) else {}
        parts = get(get(candidate, "content"), "parts")
        for raw in parts if isinstance(parts, list) else []:
            out.extend(self.part(raw))
        self.finish = get(candidate, "finishReason") or self.finish
        if get(get(body, "promptFeedback"), "blockReason"):
            self.is_blocked = True
        return out

    def part(self, raw: Any) -> List[ir.StreamEvent]:
        if not isinstance(raw, dict):
            return []
        if has(raw, "functionCall"):
            return self.call(raw)
        if has(raw, "text") or not rest(raw, ("thought", "thoughtSignature")):
            return self.text(raw)
        return []  # inlineData / executableCode ...: no stream IR part for them

    def open_part(self, part: ir.Part) -> List[ir.StreamEvent]:
        if self.lead is not None:
            part.extras[ID] = {"lead_part": self.lead}
            self.lead = None
        index, self.next_index = self.next_index, self.next_index + 1
        return [ir.PartStart(index, part)]

    def close(self) -> List[ir.StreamEvent]:
        if self.open is None:
            return []
        index, _, ex = self.open
        self.open = None
        return [ir.PartStop(index, _extras(ex))]

    def text(self, raw: Dict[str, Any]) -> List[ir.StreamEvent]:
        kind = "reasoning" if get(raw, "thought") is True else "text"
        text, sig = get(raw, "text") or "", get(raw, "thoughtSignature")
        if not text:
            return [] if sig is None else self.signature_only(raw)
        out: List[ir.StreamEvent] = []
        if self.open is not None and (self.open[1] != kind or self.open[2]):
            out.extend(self.close())
        if self.open is None:
            out.extend(self.open_part(ir.Reasoning("") if kind == "reasoning" else ir.Text("")))
            self.open = [out[-1].index, kind, {}]
        out.append(ir.Delta(self.open[0], text=text))
        if sig is not None:
            self.open[2]["thoughtSignature"] = sig
        return out

    def signature_only(self, raw: Dict[str, Any]) -> List[ir.StreamEvent]:
        # Gemini 2.5/3 may send a thoughtSignature on an empty text part, often in the last
        # chunk (ai.google.dev/gemini-api/docs/thought-signatures). It belongs to the part before
        # it when one is open, else to the next part; it must never be lost.
        if self.open is not None and not self.open[2]:
            self.open[2]["signature_part"] = raw
            return []
        out = self.close() + self.flush_lead()
        self.lead = raw
        return out

    def flush_lead(self) -> List[ir.StreamEvent]:
        if self.lead is None:
            return []
        lead, self.lead = self.lead, None
        index, self.next_index = self.next_index, self.next_index + 1
        return [ir.PartStart(index, ir.Text("")), ir.PartStop(index, _extras({"signature_part": lead}))]

    def call(self, raw: Dict[str, Any]) -> List[ir.StreamEvent]:
        out = self.close()
        call = parse_part(raw, self.ids)  # the same ToolCall (id, args, extras) as a whole response
        out.extend(self.open_part(ir.ToolCall(call.id, call.name, "")))
        index = out[-1].index
        self.has_calls = True
        return out + [ir.Delta(index, arguments=call.arguments), ir.PartStop(index, call.extras)]

    def end(self) -> List[ir.StreamEvent]:
        out = [] if self.is_started else [ir.Start()]
        out.extend(self.close() + self.flush_lead())
        stop = parse_finish(self.finish, self.has_calls)
        if stop is None and self.is_blocked:
            stop = "content_filter"
        return out + [ir.Finish(stop, self.usage or ir.Usage())]


def _payloads(events: Iterator[SSEEvent]) -> Iterator[Dict[str, Any]]:
    for event in events:
        data = (event.data or "").strip()
        if data == "[DONE]":
            return
        try:
            body = json.loads(data) if data else None
        except ValueError:
            continue  # not JSON (a proxy's keep-alive text): nothing to translate
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict):
                yield item


def parse_stream(events: Iterator[SSEEvent]) -> Iterator[ir.StreamEvent]:
    """IR events for a Gemini SSE stream: Start, parts in order, one Finish after the source ends
    (usage can follow the finishReason chunk). `data: {"error": ...}` -> ir.Error, then stop.
    A stream cut short still ends with Finish (stop None unless calls were seen)."""
    parser = _Parser()
    for body in _payloads(events):
        if "error" in body:
            code = get(body["error"], "code")
            yield parse_error(code if isinstance(code, int) else 500, body)
            return
        yield from parser.chunk(body)
    yield from parser.end()


class _Renderer:
    """State of one render_stream call."""

    def __init__(self, request: Optional[ir.Request]) -> None:
        self.id = ""
        self.model = request.model if request is not None else ""
        self.kinds: Dict[int, str] = {}
        self.calls: Dict[int, ir.ToolCall] = {}
        self.pending: List[Dict[str, Any]] = []
        self.is_done = False

    def chunk(self, parts: List[Dict[str, Any]], finish: Optional[str] = None,
              usage: Optional[Dict[str, Any]] = None) -> SSEEvent:
        candidate: Dict[str, Any] = {"content": {"parts": self.pending + parts, "role": "model"}}
        self.pending = []
        if finish is not None:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        body: Dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            body["usageMetadata"] = usage
        if self.model:
            body["modelVersion"] = self.model
        if self.id:
            body["responseId"] = self.id
        return SSEEvent(compact(body))

    def part_start(self, event: ir.PartStart) -> None:
        part = event.part
        lead = ext(getattr(part, "extras", None)).get("lead_part")
        if lead is not None:
            self.pending.append(lead)
        kind = {ir.Reasoning: "reasoning", ir.Refusal: "refusal", ir.ToolCall: "tool"}.get(type(part), "text")
        self.kinds[event.index] = kind
        if isinstance(part, ir.ToolCall):
            self.calls[event.index] = ir.ToolCall(part.id, part.name, part.arguments)

    def delta(self, event: ir.Delta) -> List[SSEEvent]:
        kind = self.kinds.setdefault(event.index, "tool" if event.index in self.calls else "text")
        if kind == "tool":
            self.calls[event.index].arguments += event.arguments
            return []
        if not event.text:
            return []
        part: Dict[str, Any] = {"text": event.text}
        if kind == "reasoning":
            part["thought"] = True
        return [self.chunk([part])]

    def part_stop(self, index: int, extras: Dict[str, Any]) -> None:
        kind, ex = self.kinds.pop(index, None), ext(extras)
        if kind == "tool":
            call = self.calls.pop(index)
            call.extras = _extras(ex)
            # Buffered until PartStop: Gemini sends a call whole, with parsed args ({} if invalid).
            self.pending.extend(render_part(call, {}, is_answer=True))
        elif "signature_part" in ex:
            self.pending.append(ex["signature_part"])
        elif "thoughtSignature" in ex:
            part: Dict[str, Any] = {"text": "", "thought": True} if kind == "reasoning" else {"text": ""}
            part["thoughtSignature"] = ex["thoughtSignature"]
            self.pending.append(part)

    def finish(self, stop: Optional[str], usage: Optional[ir.Usage]) -> List[SSEEvent]:
        for index in sorted(self.kinds):
            self.part_stop(index, {})
        self.is_done = True
        # google-genai and litellm read candidates[0].content.parts[0]: never send it empty.
        parts = [] if self.pending else [{"text": ""}]
        return [self.chunk(parts, render_finish(stop), render_usage(usage))]

    def feed(self, event: ir.StreamEvent) -> List[SSEEvent]:
        if isinstance(event, ir.Start):
            self.id, self.model = event.id or self.id, event.model or self.model
        elif isinstance(event, ir.PartStart):
            self.part_start(event)
        elif isinstance(event, ir.Delta):
            return self.delta(event)
        elif isinstance(event, ir.PartStop):
            self.part_stop(event.index, event.extras)
        elif isinstance(event, ir.Finish):
            return self.finish(event.stop_reason, event.usage)
        elif isinstance(event, ir.Error):
            self.is_done = True
            return [render_stream_error(event)]
        return []


def render_stream(events: Iterator[ir.StreamEvent], request: Optional[ir.Request]) -> Iterator[SSEEvent]:
    """Gemini SSE events (data only: no `event:` line, no `[DONE]`, which google-genai rejects —
    clients.md §2.3) for IR events. One chunk per text delta; tool calls are emitted whole at their
    PartStop; the last chunk carries finishReason and usageMetadata, and is synthesised if the IR
    stream ends without Finish. An Error becomes render_stream_error and ends the stream."""
    renderer = _Renderer(request)
    for event in events:
        yield from renderer.feed(event)
        if renderer.is_done:
            return
    yield from renderer.finish(None, None)
