"""Anthropic Messages streams (SSE) <-> IR stream events (grammar at the bottom of ir.py).

parse_stream tolerates pings, `[DONE]`, duplicate or missing events, usage split between
message_start and message_delta, and truncation. render_stream emits the shape the anthropic SDK
accumulator requires (reference/clients.md §2.1). All state lives in one object per generator call.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional

from tresor.formats import ir
from tresor.formats.sse import SSEEvent

from .blocks import ID, dumps, keep, new_id, own
from .response import (STATUS_BY_KIND, USAGE_KEYS, keep_usage, parse_error, parse_stop, render_error,
                       render_stop, render_usage, usage_from_wire)

_MESSAGE_KNOWN = ("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage")
_DONE = object()


def _index(payload: Dict[str, Any]) -> Any:
    """The block index as a usable dict key (some providers omit it; a malformed one must not raise)."""
    index = payload.get("index")
    return index if index is None or isinstance(index, (int, str)) else repr(index)


def _payload(event: SSEEvent) -> Any:
    data = (event.data or "").strip()
    if data == "[DONE]":
        return _DONE
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _Block:
    """One open wire block while parsing: its IR index, kind, and data known only at its end."""

    def __init__(self, index: int, kind: str):
        self.index = index
        self.kind = kind
        self.pending: Optional[ir.PartStart] = None  # text starts wait for leading citations_delta
        self.signature: Optional[str] = None
        self.late: List[Dict[str, Any]] = []  # deltas the IR has no field for, replayed before the stop


class _Parser:
    """The state of one parse_stream call (never shared between streams)."""

    def __init__(self):
        self.is_started = False
        self.is_finished = False
        self.blocks: Dict[Any, _Block] = {}
        self.next_index = 0
        self.usage: Dict[str, int] = {}
        self.stop_reason: Optional[str] = None
        self.stop_sequence: Optional[str] = None

    def start(self, message: Optional[Dict[str, Any]] = None) -> List[ir.StreamEvent]:
        if self.is_started:
            return []
        self.is_started = True
        message = message or {}
        ax: Dict[str, Any] = {}
        usage = keep_usage(message["usage"], ax) if isinstance(message.get("usage"), dict) else None
        self.merge_usage(message.get("usage"))
        unknown = {k: v for k, v in message.items() if k not in _MESSAGE_KNOWN}
        if unknown:
            ax["message"] = unknown
        return [ir.Start(id=str(message.get("id") or ""), model=str(message.get("model") or ""), usage=usage,
                         extras={ID: ax} if ax else {})]

    def merge_usage(self, usage: Any) -> None:
        """Later counts win (message_delta is cumulative), except a 0 after a real count: some
        providers repeat input_tokens as 0 in message_delta."""
        if not isinstance(usage, dict):
            return
        for key in USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int) and not (value == 0 and self.usage.get(key, 0) > 0):
                self.usage[key] = value

    def on_message_start(self, payload):
        message = payload.get("message")
        return self.start(message if isinstance(message, dict) else {})

    def on_content_block_start(self, payload):
        out = self.start()
        index, block = _index(payload), payload.get("content_block")
        block = block if isinstance(block, dict) else {}
        if index in self.blocks:  # a reused index: the previous block ended without its stop
            out += self.stop(index)
        kind = block.get("type")
        b = self.blocks[index] = _Block(self.next_index, kind if kind in _STARTS else "opaque")
        self.next_index += 1
        part, initial = _STARTS.get(kind, _start_opaque)(block, b)
        start = ir.PartStart(b.index, part)
        if kind == "text" and not initial:
            b.pending = start
            return out
        out.append(start)
        if initial:
            out.append(ir.Delta(b.index, arguments=initial) if kind == "tool_use" else ir.Delta(b.index, text=initial))
        return out

    def on_content_block_delta(self, payload):
        out = self.start()
        index, delta = _index(payload), payload.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        kind = delta.get("type")
        if index not in self.blocks:  # a delta without its start: open the block it implies
            implied = {"text_delta": {"type": "text", "text": ""},
                       "thinking_delta": {"type": "thinking", "thinking": "", "signature": ""}}.get(kind)
            if implied is None:
                return out
            out += self.on_content_block_start({"index": index, "content_block": implied})
        b = self.blocks[index]
        if b.kind == "opaque" or (b.pending is not None and kind not in _DELTA_FIELDS):
            target = b.late if b.pending is None else b.pending.part.extras.setdefault(ID, {}).setdefault("_deltas", [])
            target.append(delta)
            return out
        out += self.flush(b)
        if kind == "signature_delta":
            b.signature = (b.signature or "") + str(delta.get("signature") or "")
        elif kind == "input_json_delta":
            out.append(ir.Delta(b.index, arguments=str(delta.get("partial_json") or "")))
        elif kind in _DELTA_FIELDS:
            out.append(ir.Delta(b.index, text=str(delta.get(_DELTA_FIELDS[kind]) or "")))
        else:  # citations_delta after text, future delta types
            b.late.append(delta)
        return out

    def on_content_block_stop(self, payload):
        index = _index(payload)
        return self.start() + (self.stop(index) if index in self.blocks else [])

    def on_message_delta(self, payload):
        out = self.start() + self.close_all()
        delta = payload.get("delta") if isinstance(payload.get("delta"), dict) else {}
        if delta.get("stop_reason") is not None:
            self.stop_reason = delta["stop_reason"]
        if delta.get("stop_sequence") is not None:
            self.stop_sequence = delta["stop_sequence"]
        self.merge_usage(payload.get("usage") if "usage" in payload else delta.get("usage"))
        return out

    def on_message_stop(self, payload):
        return self.start() + self.close_all() + [self.finish()]

    def on_error(self, payload):
        self.is_finished = True
        err = payload.get("error") if isinstance(payload.get("error"), dict) else {}
        kind = err.get("type")  # the envelope names only the type: recover the real status from it
        return [parse_error(STATUS_BY_KIND.get(kind, 500) if isinstance(kind, str) else 500, payload)]

    def on_ping(self, payload):
        return []

    def flush(self, b: _Block) -> List[ir.StreamEvent]:
        start, b.pending = b.pending, None
        return [start] if start else []

    def stop(self, index) -> List[ir.StreamEvent]:
        b = self.blocks.pop(index)
        extras: Dict[str, Any] = {}
        if b.signature is not None:
            extras["signature"] = b.signature
        if b.late:
            extras["_deltas"] = b.late
        return self.flush(b) + [ir.PartStop(b.index, {ID: extras} if extras else {})]

    def close_all(self) -> List[ir.StreamEvent]:
        return [e for index in list(self.blocks) for e in self.stop(index)]

    def finish(self) -> ir.Finish:
        self.is_finished = True
        return ir.Finish(parse_stop(self.stop_reason, {}), usage_from_wire(self.usage), self.stop_sequence)


def _start_text(block, b):
    return ir.Text("", keep(block, ("type", "text"))), str(block.get("text") or "")


def _start_thinking(block, b):
    if block.get("signature"):  # some gateways send the whole signature up front
        b.signature = str(block["signature"])
    return ir.Reasoning("", extras=keep(block, ("type", "thinking", "signature"))), str(block.get("thinking") or "")


def _start_redacted(block, b):
    return ir.Reasoning("", is_redacted=True, extras=keep(block, ("type",))), ""


def _start_tool_use(block, b):
    part = ir.ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), "",
                       keep(block, ("type", "id", "name", "input")))
    return part, dumps(block["input"]) if block.get("input") else ""


def _start_opaque(block, b):
    # server_tool_use, web_search_tool_result, ...: replayed verbatim, invisible to other families.
    return ir.Text("", {ID: {"_block": block}}), ""


_STARTS = {"text": _start_text, "thinking": _start_thinking, "redacted_thinking": _start_redacted,
           "tool_use": _start_tool_use}
_DELTA_FIELDS = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json",
                 "signature_delta": "signature"}
_HANDLERS = {"message_start": _Parser.on_message_start, "content_block_start": _Parser.on_content_block_start,
             "content_block_delta": _Parser.on_content_block_delta,
             "content_block_stop": _Parser.on_content_block_stop, "message_delta": _Parser.on_message_delta,
             "message_stop": _Parser.on_message_stop, "error": _Parser.on_error, "ping": _Parser.on_ping}


def parse_stream(events: Iterator[SSEEvent]) -> Iterator[ir.StreamEvent]:
    """Anthropic SSE events -> IR events; always ends with exactly one Finish or one Error."""
    parser = _Parser()
    for event in events:
        payload = _payload(event)
        if payload is _DONE:
            break
        kind = payload.get("type") if payload else None
        handler = _HANDLERS.get(kind if isinstance(kind, str) else event.event) if payload else None
        if handler is None:
            continue
        yield from handler(parser, payload)
        if parser.is_finished:
            return
    yield from parser.start() + parser.close_all() + [parser.finish()]


# ---- IR -> wire


def _sse(payload: Dict[str, Any]) -> SSEEvent:
    # Every event carries its `event:` line: the anthropic SDK skips events without one.
    return SSEEvent(data=dumps(payload), event=payload["type"])


def _delta(index: int, delta: Dict[str, Any]) -> SSEEvent:
    return _sse({"type": "content_block_delta", "index": index, "delta": delta})


class _Wire:
    """One rendered block: its wire index (0-based, in order of opening), kind and opening block."""

    def __init__(self, index: int, kind: str, block: Optional[Dict[str, Any]], signature: Optional[str]):
        self.index = index
        self.kind = kind  # text, thinking, tool_use, redacted, opaque, skip
        self.block = block
        self.signature = signature
        self.is_open = False
        self.is_suspended = False  # closed on the wire while its IR part is still open


class _Renderer:
    """The state of one render_stream call (never shared between streams)."""

    def __init__(self, request: Optional[ir.Request]):
        self.model = request.model if request is not None else ""
        self.is_started = False
        self.is_done = False
        self.blocks: Dict[int, _Wire] = {}
        self.next_index = 0
        self.has_tool_use = False
        self.has_refusal = False

    def on_start(self, ev: ir.Start) -> List[SSEEvent]:
        if self.is_started:
            return []
        self.is_started = True
        ax = own(ev.extras)
        message = {"id": ev.id or new_id("msg_"), "type": "message", "role": "assistant",
                   "model": ev.model or self.model, "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": render_usage(ev.usage, ax)}  # the SDK needs usage here (AttributeError)
        for key, value in ax.get("message", {}).items():
            message.setdefault(key, value)
        return [_sse({"type": "message_start", "message": message})]

    def on_part_start(self, ev: ir.PartStart) -> List[SSEEvent]:
        out = self.on_start(ir.Start())
        if ev.index in self.blocks:
            return out
        part = ev.part
        kind, block = _block_for(part)
        mine = own(getattr(part, "extras", {}))
        w = self.blocks[ev.index] = _Wire(-1, kind, block, mine.get("signature"))
        if block is None:
            return out
        out += self.open(w)
        self.has_tool_use = self.has_tool_use or kind == "tool_use"
        self.has_refusal = self.has_refusal or isinstance(part, ir.Refusal)
        out += [_delta(w.index, d) for d in mine.get("_deltas", [])]
        initial = part.arguments if isinstance(part, ir.ToolCall) else getattr(part, "text", "")
        if initial and kind in ("text", "thinking", "tool_use"):
            out += self.on_delta(ir.Delta(ev.index, text=initial, arguments=initial))
        return out

    def open(self, w: _Wire) -> List[SSEEvent]:
        """Open `w` as the next wire block. Text and thinking blocks still open are closed first, so
        only tool_use blocks ever overlap (parallel calls, matched by index as the SDK does); Anthropic
        itself streams one block at a time and some clients assume it."""
        out = []
        for other in self.blocks.values():
            if other.is_open and other.kind in ("text", "thinking"):
                out += self.close(other, {})
                other.is_suspended = True
        w.index, w.is_open, w.is_suspended = self.next_index, True, False
        self.next_index += 1
        return out + [_sse({"type": "content_block_start", "index": w.index, "content_block": w.block})]

    def on_delta(self, ev: ir.Delta) -> List[SSEEvent]:
        out = self.on_start(ir.Start())
        if ev.index not in self.blocks:
            if not ev.text:
                return out  # arguments without their tool call: nothing valid to attach them to
            out += self.on_part_start(ir.PartStart(ev.index, ir.Text("")))
        w = self.blocks[ev.index]
        if w.is_suspended:  # more text after another block opened: continue in a new block
            out += self.open(w)
        if not w.is_open or w.kind not in ("text", "thinking", "tool_use"):
            return out
        if w.kind == "tool_use":
            delta = {"type": "input_json_delta", "partial_json": ev.arguments}
        elif w.kind == "thinking":
            delta = {"type": "thinking_delta", "thinking": ev.text}
        else:
            delta = {"type": "text_delta", "text": ev.text}
        return out + [_delta(w.index, delta)]

    def on_part_stop(self, ev: ir.PartStop) -> List[SSEEvent]:
        w = self.blocks.get(ev.index)
        if w is not None:
            w.is_suspended = False
        return self.close(w, own(ev.extras)) if w is not None and w.is_open else []

    def close(self, w: _Wire, extras: Dict[str, Any]) -> List[SSEEvent]:
        out = [_delta(w.index, d) for d in extras.get("_deltas", [])]
        if w.kind == "thinking":
            # A thinking block must end with a signature_delta; "" across families (Go f818e83, 786328c).
            signature = extras.get("signature", w.signature) or ""
            out.append(_delta(w.index, {"type": "signature_delta", "signature": signature}))
        w.is_open = False
        return out + [_sse({"type": "content_block_stop", "index": w.index})]

    def on_finish(self, ev: ir.Finish) -> List[SSEEvent]:
        out = self.on_start(ir.Start())
        for w in self.blocks.values():
            if w.is_open:
                out += self.close(w, {})
        usage, wire = ev.usage, {}
        cache_read, cache_write = usage.cache_read_tokens, usage.cache_creation_tokens
        if usage.input_tokens is not None:
            wire["input_tokens"] = max(0, usage.input_tokens - (cache_read or 0) - (cache_write or 0))
        if cache_write is not None:
            wire["cache_creation_input_tokens"] = cache_write
        if cache_read is not None:
            wire["cache_read_input_tokens"] = cache_read
        wire["output_tokens"] = usage.output_tokens or 0  # the SDK needs usage here too
        stop = render_stop(ev.stop_reason, {}, self.has_tool_use, self.has_refusal)
        self.is_done = True
        return out + [_sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": ev.stop_sequence},
                            "usage": wire}),
                      _sse({"type": "message_stop"})]

    def on_error(self, ev: ir.Error) -> List[SSEEvent]:
        self.is_done = True
        return [render_stream_error(ev)]


def _block_for(part) -> tuple:
    """(kind, content_block) opening `part`, or (kind, None) when Anthropic cannot show it."""
    mine = own(getattr(part, "extras", {}))
    if isinstance(part, ir.Text) and "_block" in mine:
        return "opaque", dict(mine["_block"])
    if isinstance(part, (ir.Text, ir.Refusal)):
        block = {"type": "text", "text": ""}
    elif isinstance(part, ir.Reasoning) and part.is_redacted:
        return "redacted", ({"type": "redacted_thinking", "data": mine["data"]} if "data" in mine else None)
    elif isinstance(part, ir.Reasoning):
        block = {"type": "thinking", "thinking": "", "signature": ""}
    elif isinstance(part, ir.ToolCall):
        block = {"type": "tool_use", "id": part.id or new_id("toolu_"), "name": part.name, "input": {}}
    else:
        return "skip", None
    for key, value in mine.items():
        if not key.startswith("_") and key != "signature":
            block.setdefault(key, value)
    return {"text": "text", "thinking": "thinking", "tool_use": "tool_use"}[block["type"]], block


_RENDER = {ir.Start: _Renderer.on_start, ir.PartStart: _Renderer.on_part_start, ir.Delta: _Renderer.on_delta,
           ir.PartStop: _Renderer.on_part_stop, ir.Finish: _Renderer.on_finish, ir.Error: _Renderer.on_error}


def render_stream(events: Iterator[ir.StreamEvent], request: Optional[ir.Request]) -> Iterator[SSEEvent]:
    """IR events -> Anthropic SSE events: message_start (with usage) first, every block opened and
    closed, message_delta (stop_reason + usage) and message_stop exactly once, whatever IR arrives.
    No ping: the engine sends those on upstream silence."""
    renderer = _Renderer(request)
    for ev in events:
        handler = _RENDER.get(type(ev))
        if handler is None:
            continue
        yield from handler(renderer, ev)
        if renderer.is_done:
            return
    yield from renderer.on_finish(ir.Finish())


def render_stream_error(error: ir.Error) -> SSEEvent:
    """`event: error` with the error envelope (the SDK raises APIStatusError with it)."""
    return _sse(render_error(error))
