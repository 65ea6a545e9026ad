"""OpenAI Chat Completions streams: `chat.completion.chunk` SSE events <-> IR stream events.

Stream-constant fields (system_fingerprint, service_tier, per-choice `logprobs: null`,
`usage: null`, the first delta's empty keys) ride in Start.extras["openai"]. Regenerated on
render (see tests/formats/test_openai_stream.py): chunk boundaries, `obfuscation`, repeated
tool-call ids, usage details without an IR field, legacy `function_call` finish reasons.
"""
from __future__ import annotations

import json
from typing import Iterator, List

from tresor.formats import ir
from tresor.formats.openai.errors import parse_error, render_stream_error, status_for_error
from tresor.formats.openai.messages import FMT, ext
from tresor.formats.openai.response import (main_choice, render_usage, stop_from_wire, stop_to_wire,
                                            usage_from_wire)
from tresor.formats.sse import SSEEvent

DONE = "[DONE]"


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _is_text(value) -> bool:
    return isinstance(value, str) and value != ""


def _reasoning(delta: dict):
    """(wire key, text) of a reasoning delta; servers use reasoning_content or `reasoning`."""
    text, alias = delta.get("reasoning_content"), delta.get("reasoning")
    if _is_text(text):
        return ("both" if alias == text else "reasoning_content"), text
    if _is_text(alias):
        return "reasoning", alias
    return None, ""


class _Parser:
    """Per-stream parse state; one instance lives in one parse_stream generator's locals."""

    def __init__(self):
        self.is_started = False
        self.count = 0  # IR part indexes handed out
        self.prose = None  # (kind, IR index) of the open text / reasoning / refusal part
        self.tools = {}  # wire tool key -> IR index
        self.open_tools = {}  # IR index -> argument fragments, for tool calls still open
        self.pending = {}  # wire tool key -> {"id", "args"} until the function name arrives
        self.last_key = None
        self.finish = self.matched = self.usage = None

    def start(self, chunk: dict, choice) -> ir.Start:
        self.is_started = True
        extras = {k: chunk[k] for k in ("system_fingerprint", "service_tier") if k in chunk}
        extras["logprobs"] = isinstance(choice, dict) and "logprobs" in choice
        extras["usage_null"] = "usage" in chunk and chunk["usage"] is None
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and delta.get("role"):
            extras["first_delta"] = {k: v for k, v in delta.items() if k != "role" and v in ("", None)}
        created = chunk.get("created")
        return ir.Start(id=chunk.get("id") if isinstance(chunk.get("id"), str) else "",
                        model=chunk.get("model") if isinstance(chunk.get("model"), str) else "",
                        created_s=created if isinstance(created, int) else None, extras={FMT: extras})

    def feed(self, chunk: dict) -> List[ir.StreamEvent]:
        out: List[ir.StreamEvent] = []
        choices = chunk.get("choices") if isinstance(chunk.get("choices"), list) else []
        choice = main_choice(choices)
        if not self.is_started and (choices or chunk.get("id")):
            out.append(self.start(chunk, choice))
        if isinstance(chunk.get("usage"), dict):  # trailing chunk, finish chunk or every chunk
            self.usage = chunk["usage"]
        if choice is None or self.finish is not None:
            return out
        if isinstance(choice.get("delta"), dict):
            out.extend(self.delta(choice["delta"]))
        if isinstance(choice.get("finish_reason"), str):
            self.finish, self.matched = choice["finish_reason"], choice.get("stop_reason")
            out.extend(self.close_all())
        return out

    def delta(self, delta: dict) -> List[ir.StreamEvent]:
        out: List[ir.StreamEvent] = []
        key, text = _reasoning(delta)
        if text:
            out.extend(self.prose_delta("reasoning", text, key))
        for kind in ("content", "refusal"):
            if _is_text(delta.get(kind)):
                out.extend(self.prose_delta("text" if kind == "content" else kind, delta[kind]))
        calls = delta.get("tool_calls")
        for pos, call in enumerate(calls if isinstance(calls, list) else ()):
            if isinstance(call, dict):
                out.extend(self.tool_delta(call, pos))
        return out

    def new_index(self) -> int:
        self.count += 1
        return self.count - 1

    def prose_delta(self, kind: str, text: str, key=None) -> List[ir.StreamEvent]:
        out: List[ir.StreamEvent] = []
        if self.prose is None or self.prose[0] != kind:
            out.extend(self.close_prose())
            part = {"text": ir.Text, "reasoning": ir.Reasoning, "refusal": ir.Refusal}[kind]("")
            if key not in (None, "reasoning_content"):
                part.extras[FMT] = {"key": key}
            self.prose = (kind, self.new_index())
            out.append(ir.PartStart(self.prose[1], part))
        out.append(ir.Delta(self.prose[1], text=text))
        return out

    def close_prose(self) -> List[ir.StreamEvent]:
        if self.prose is None:
            return []
        index, self.prose = self.prose[1], None
        return [ir.PartStop(index)]

    def tool_key(self, call: dict, pos: int):
        """IR identity of a tool-call delta: its `index` (parallel calls interleave by index;
        a repeated or new id on the same index is the same call). Index-less servers: by id."""
        index = call.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        if _is_text(call.get("id")):
            self.last_key = ("id", call["id"])
        elif self.last_key is None:
            self.last_key = ("pos", pos)
        return self.last_key

    def tool_delta(self, call: dict, pos: int) -> List[ir.StreamEvent]:
        key = self.tool_key(call, pos)
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        args = fn.get("arguments")
        if args is not None and not isinstance(args, str):
            args = _dumps(args)
        if key in self.tools:
            index = self.tools[key]
            if not args or index not in self.open_tools:
                return []  # nothing, or text after a call's JSON was already complete
            self.open_tools[index].append(args)
            return [ir.Delta(index, arguments=args)]
        pending = self.pending.setdefault(key, {"id": None, "args": []})
        if pending["id"] is None and _is_text(call.get("id")):
            pending["id"] = call["id"]
        if args:
            pending["args"].append(args)
        return self.open_tool(key, fn["name"]) if _is_text(fn.get("name")) else []

    def close_complete_tools(self) -> List[ir.StreamEvent]:
        """Close open calls whose arguments already form complete JSON.

        Most servers stream calls one after another; closing a finished call when the next
        one starts lets renderers that need sequential blocks (Anthropic, and the openai
        SDK's stream helper) stream every call. Truly interleaved calls still hold
        incomplete JSON at that point and stay open.
        """
        out = []
        for index, fragments in list(self.open_tools.items()):
            try:
                json.loads("".join(fragments))
            except ValueError:
                continue
            del self.open_tools[index]
            out.append(ir.PartStop(index))
        return out

    def open_tool(self, key, name: str) -> List[ir.StreamEvent]:
        pending = self.pending.pop(key)
        out = self.close_prose() + self.close_complete_tools()
        index = self.new_index()
        call_id = pending["id"] or "call_%d" % len(self.tools)  # some servers send no id
        self.tools[key] = index
        self.open_tools[index] = list(pending["args"])
        out.append(ir.PartStart(index, ir.ToolCall(call_id, name, "")))
        if pending["args"]:
            out.append(ir.Delta(index, arguments="".join(pending["args"])))
        return out

    def close_all(self) -> List[ir.StreamEvent]:
        out: List[ir.StreamEvent] = []
        for key in list(self.pending):  # a call whose name never came: keep id and arguments
            out.extend(self.open_tool(key, ""))
        out.extend(self.close_prose())
        out.extend(ir.PartStop(index) for index in self.open_tools)
        self.open_tools = {}
        return out

    def end(self) -> List[ir.StreamEvent]:
        out: List[ir.StreamEvent] = [] if self.is_started else [ir.Start()]
        if self.finish is None:
            out.extend(self.close_all())
        reason = stop_from_wire(self.finish, bool(self.tools), self.matched)
        usage = usage_from_wire(self.usage) if self.usage is not None else ir.Usage()
        out.append(ir.Finish(reason, usage, self.matched if reason == "stop_sequence" else None))
        return out


def _is_error(event, chunk) -> bool:
    if event.event == "error":
        return True
    return isinstance(chunk, dict) and (chunk.get("error") is not None or chunk.get("object") == "error")


def parse_stream(events) -> Iterator[ir.StreamEvent]:
    """IR events for an iterator of chunk SSEEvents (a generator; state in its locals).

    Tolerates keep-alives, non-JSON noise, usage on any chunk (last wins; the Finish waits for
    `[DONE]` or EOF so a trailing usage chunk is seen), and a missing `[DONE]`. An in-band
    error (`{"error": ...}`, vLLM `{"object": "error"}`, `event: error`) yields ir.Error and ends.
    """
    state = _Parser()
    for event in events:
        data = event.data.strip()
        if data == DONE:
            break
        try:
            chunk = json.loads(data) if data else None
        except ValueError:
            chunk = data if event.event == "error" else None
        if _is_error(event, chunk):
            status = status_for_error(chunk) if isinstance(chunk, dict) else 500
            yield parse_error(status, chunk)
            return
        if isinstance(chunk, dict):
            yield from state.feed(chunk)
    yield from state.end()


class _Renderer:
    """Per-stream render state; one instance lives in one render_stream generator's locals."""

    def __init__(self, request):
        self.request = request
        self.head = None  # the fields every chunk repeats (same id, object, created, model)
        self.has_logprobs = True
        self.has_usage_null = False
        self.kinds = {}  # IR index -> ("text",) / ("refusal",) / ("reasoning", keys) / ("tool", n)
        self.n_tools = 0
        self.active = None  # IR index of the tool call streaming on the wire now
        self.queue = []  # IR indexes of later tool calls, held back in order of appearance
        self.held = {}  # IR index -> {"call", "args", "is_closed"} for queued tool calls
        self.is_done = False

    def chunk(self, delta: dict, finish=None) -> SSEEvent:
        # Choice index is always 0: reasoning on another index made content vanish in
        # OpenAI clients (upstream Go fix 7d53eed).
        choice = {"index": 0, "delta": delta}
        if self.has_logprobs:
            choice["logprobs"] = None
        choice["finish_reason"] = finish
        out = dict(self.head, choices=[choice])
        if self.has_usage_null:
            out["usage"] = None
        return SSEEvent(_dumps(out))

    def begin(self, start: ir.Start) -> List[SSEEvent]:
        ex = start.extras.get(FMT) or {}
        model = start.model or (self.request.model if self.request is not None else "")
        self.head = {"id": start.id or "chatcmpl-tresor", "object": "chat.completion.chunk",
                     "created": start.created_s if start.created_s is not None else 0, "model": model}
        self.head.update((k, ex[k]) for k in ("service_tier", "system_fingerprint") if k in ex)
        self.has_logprobs = ex.get("logprobs", True)
        self.has_usage_null = ex.get("usage_null", False)
        first = {"role": "assistant"}
        first.update(ex.get("first_delta", {"content": ""}))
        return [self.chunk(first)]

    def ensure_started(self) -> List[SSEEvent]:
        return self.begin(ir.Start()) if self.head is None else []

    def on_start(self, event: ir.Start) -> List[SSEEvent]:
        return self.begin(event) if self.head is None else []

    def on_part_start(self, event: ir.PartStart) -> List[SSEEvent]:
        out, part = self.ensure_started(), event.part
        if isinstance(part, ir.ToolCall):
            return out + self.start_tool(event.index, part)
        if isinstance(part, ir.Reasoning):
            key = ext(part).get("key", "reasoning_content")
            keys = ("reasoning_content", "reasoning") if key == "both" else (key,)
            self.kinds[event.index] = ("reasoning", keys)
            text = part.text
        elif isinstance(part, (ir.Text, ir.Refusal)):
            self.kinds[event.index] = ("text",) if isinstance(part, ir.Text) else ("refusal",)
            text = part.text
        else:
            return out  # images / documents have no Chat stream form
        if text:
            out.extend(self.on_delta(ir.Delta(event.index, text=text)))
        return out

    def start_tool(self, index: int, call: ir.ToolCall) -> List[SSEEvent]:
        # Tool-call `index` counts calls (0-based, in order), not IR parts; the openai SDK
        # raises TypeError without it and keys its accumulator on it.
        self.kinds[index] = ("tool", self.n_tools)
        self.n_tools += 1
        if self.active is None and not self.queue:
            self.active = index
            return self.tool_head(index, call, call.arguments)
        self.queue.append(index)
        self.held[index] = {"call": call, "args": [call.arguments], "is_closed": False}
        return []

    def tool_head(self, index: int, call: ir.ToolCall, args: str) -> List[SSEEvent]:
        """The first delta of a call (id, type, name, arguments ""), then any known arguments."""
        wire = self.kinds[index][1]
        out = [self.chunk({"tool_calls": [{"index": wire, "id": call.id, "type": "function",
                                           "function": {"name": call.name, "arguments": ""}}]})]
        if args:
            out.append(self.chunk({"tool_calls": [{"index": wire, "function": {"arguments": args}}]}))
        return out

    def promote(self, is_final: bool = False) -> List[SSEEvent]:
        """Send held calls once the wire is free. The openai SDK's stream helper treats a call
        as finished when a delta for another index arrives (ChoiceEventState.get_done_events,
        openai 3.x), so calls go out one after another, never interleaved."""
        out: List[SSEEvent] = []
        while self.queue and (self.active is None or is_final):
            index = self.queue.pop(0)
            held = self.held.pop(index)
            out.extend(self.tool_head(index, held["call"], "".join(held["args"])))
            self.active = None if held["is_closed"] or is_final else index
        return out

    def on_part_stop(self, event: ir.PartStop) -> List[SSEEvent]:
        if event.index in self.held:
            self.held[event.index]["is_closed"] = True
        elif event.index == self.active:
            self.active = None
            return self.promote()
        return []

    def on_delta(self, event: ir.Delta) -> List[SSEEvent]:
        out = self.ensure_started()
        kind = self.kinds.get(event.index, ("text",))  # a Delta without PartStart: best effort
        if kind[0] == "tool":
            if event.index in self.held:
                self.held[event.index]["args"].append(event.arguments)
            elif event.arguments:
                out.append(self.chunk({"tool_calls": [{"index": kind[1], "function": {"arguments": event.arguments}}]}))
        elif event.text:
            keys = kind[1] if kind[0] == "reasoning" else ("content" if kind[0] == "text" else "refusal",)
            out.append(self.chunk({k: event.text for k in keys}))
        return out

    def on_finish(self, event: ir.Finish) -> List[SSEEvent]:
        out = self.ensure_started() + self.promote(is_final=True)
        out.append(self.chunk({}, stop_to_wire(event.stop_reason, self.n_tools > 0)))
        if self.request is not None and self.request.is_usage_in_stream:
            out.append(SSEEvent(_dumps(dict(self.head, choices=[], usage=render_usage(event.usage)))))
        out.append(SSEEvent(DONE))
        self.is_done = True
        return out

    def on_error(self, event: ir.Error) -> List[SSEEvent]:
        self.is_done = True  # no [DONE] after an error chunk
        return [render_stream_error(event)]

    def feed(self, event) -> List[SSEEvent]:
        handler = {ir.Start: self.on_start, ir.PartStart: self.on_part_start, ir.Delta: self.on_delta,
                   ir.PartStop: self.on_part_stop, ir.Finish: self.on_finish,
                   ir.Error: self.on_error}.get(type(event))
        return handler(event) if handler is not None else []


def render_stream(events, request) -> Iterator[SSEEvent]:
    """Chat chunk SSEEvents for IR `events` (a generator; state in its locals).

    Whatever the IR order: a role chunk first (a Start is synthesized if missing), every chunk
    with the same id / object / created / model, tool calls one after another (interleaved IR
    calls are held back, never interleaved on the wire) with `index` on every delta and id,
    type and name on each call's first, a finish chunk, a usage chunk (`choices: []`) only when the
    client asked via stream_options.include_usage, then `data: [DONE]` exactly once. An
    ir.Error becomes an error chunk and ends the stream without [DONE].
    """
    state = _Renderer(request)
    for event in events:
        yield from state.feed(event)
        if state.is_done:
            return
    yield from state.on_finish(ir.Finish())
