"""anthropic format: stream parsing and the renderer invariants strict clients need (SPEC §3, clients.md §2.1).

Regenerated / normalised on a same-family stream round trip (kept minimal, each pinned by a test here):
* `ping` events are dropped (the engine sends its own on upstream silence);
* `message_delta.usage` carries input and cache counts whenever they are known;
* a thinking block always ends with a `signature_delta`; a tool_use whose start carried a non-empty
  `input` streams it as one `input_json_delta`;
* message_delta keys the IR Finish cannot hold (`context_management`, `usage.iterations`, the exact
  `pause_turn` stop reason) are lost in streams (kept in non-stream responses).
"""
import io
import json
import os

import pytest

from tresor.formats import anthropic as A
from tresor.formats import ir
from tresor.formats.sse import SSEEvent, iter_events

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "anthropic")
EXACT = ["stream_text.sse", "stream_tool_use.sse", "stream_error.sse", "stream_redacted_citations.sse",
         "stream_server_tool.sse"]


def events_of(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return list(iter_events(io.BytesIO(f.read()).readline))


def wire(events):
    """(event name, parsed data) pairs, the comparable form of an SSE stream."""
    return [(e.event, json.loads(e.data)) for e in events]


def parse(name):
    return list(A.parse_stream(iter(events_of(name))))


def render(ir_events, request=None):
    return wire(A.render_stream(iter(ir_events), request))


def sse(payload, event=None):
    return SSEEvent(json.dumps(payload), event or payload.get("type"))


def assert_ir_grammar(events):
    """Start (PartStart Delta* PartStop)* Finish, or Error last; deltas only inside their part."""
    assert isinstance(events[0], (ir.Start, ir.Error))
    assert isinstance(events[-1], (ir.Finish, ir.Error))
    assert sum(isinstance(e, (ir.Finish, ir.Error)) for e in events) == 1
    open_parts, seen = set(), set()
    for e in events[1:-1]:
        if isinstance(e, ir.PartStart):
            assert e.index not in seen
            open_parts.add(e.index)
            seen.add(e.index)
        elif isinstance(e, ir.Delta):
            assert e.index in open_parts
        elif isinstance(e, ir.PartStop):
            open_parts.remove(e.index)
    if isinstance(events[-1], ir.Finish):
        assert not open_parts


def assert_wire_shape(pairs):
    """The invariants the anthropic SDK accumulator depends on."""
    types = [t for t, _ in pairs]
    assert all(t == d["type"] for t, d in pairs)  # an `event:` line on every event, matching data.type
    assert types[0] == "message_start" and "usage" in pairs[0][1]["message"]
    assert types[-1] == "message_stop" and types.count("message_stop") == 1
    delta = [d for t, d in pairs if t == "message_delta"]
    assert len(delta) == 1 and delta[0]["delta"]["stop_reason"] and "output_tokens" in delta[0]["usage"]
    opened, closed = [], set()
    for t, d in pairs:
        if t == "content_block_start":
            assert d["index"] == len(opened)  # 0-based, consecutive, in order of opening
            opened.append(d["content_block"]["type"])
        elif t == "content_block_delta":
            assert d["index"] < len(opened) and d["index"] not in closed
        elif t == "content_block_stop":
            closed.add(d["index"])
        elif t == "message_delta":
            assert closed == set(range(len(opened)))  # every block closed before message_delta


# ---- same-family round trips


@pytest.mark.parametrize("name", EXACT)
def test_stream_fixture_round_trips_event_for_event(name):
    original = [p for p in wire(events_of(name)) if p[0] != "ping"]
    assert render(parse(name)) == original


@pytest.mark.parametrize("name", EXACT + ["stream_legacy_usage.sse"])
def test_parsed_fixture_streams_follow_the_ir_grammar(name):
    assert_ir_grammar(parse(name))


def test_legacy_message_delta_usage_gains_the_known_input_count():
    rendered = render(parse("stream_legacy_usage.sse"))
    original = wire(events_of("stream_legacy_usage.sse"))
    assert rendered[:-2] == original[:-2]
    assert rendered[-2][1]["usage"] == {"input_tokens": 25, "output_tokens": 15}


# ---- parsing


def test_parse_tool_use_stream_gives_signature_parallel_calls_and_usage():
    events = parse("stream_tool_use.sse")
    start = events[0]
    assert (start.id, start.model) == ("msg_014p7gG3wDgGV9EUtLvnow3U", "claude-sonnet-4-20250514")
    assert start.usage == ir.Usage(572, 2, 100, 0)
    stops = {e.index: e.extras for e in events if isinstance(e, ir.PartStop)}
    assert stops[0] == {"anthropic": {"signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}
    calls = {e.index: e.part for e in events if isinstance(e, ir.PartStart) and isinstance(e.part, ir.ToolCall)}
    assert {i: (c.id, c.name) for i, c in calls.items()} == {2: ("toolu_01Paris", "get_weather"),
                                                             3: ("toolu_01Tokyo", "get_weather"),
                                                             4: ("toolu_01NoArgs", "get_time")}
    arguments = {i: "".join(e.arguments for e in events if isinstance(e, ir.Delta) and e.index == i) for i in calls}
    assert arguments == {2: '{"location": "Paris, France"}', 3: '{"location": "Tokyo, Japan"}', 4: ""}
    assert events[-1] == ir.Finish("tool_use", ir.Usage(572, 89, 100, 0))


def test_parse_text_stream_keeps_usage_extras_on_start():
    start = parse("stream_text.sse")[0]
    assert start.extras["anthropic"]["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] == 42203
    assert start.usage.input_tokens == 5 + 42203


def test_an_in_band_error_ends_the_stream_with_its_real_status():
    events = parse("stream_error.sse")
    assert isinstance(events[-2], ir.Delta) and events[-2].text == "Partial"
    assert events[-1] == ir.Error(529, "Overloaded", "overloaded_error")


@pytest.mark.parametrize("cut", [1, 3, 6, 12])
def test_a_truncated_stream_still_ends_with_finish(cut):
    events = list(A.parse_stream(iter(events_of("stream_tool_use.sse")[:cut])))
    assert_ir_grammar(events)
    assert events[-1].stop_reason is None and events[-1].usage.input_tokens == 572


def test_an_empty_stream_gives_start_and_finish():
    assert list(A.parse_stream(iter([]))) == [ir.Start(), ir.Finish()]


def test_parse_tolerates_done_garbage_unknown_events_and_a_missing_message_start():
    events = [SSEEvent(": keep-alive"), SSEEvent("not json", "content_block_delta"),
              sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
              sse({"type": "future_event"}), sse({"type": "ping"}), SSEEvent("[DONE]"),
              sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "late"}})]
    out = list(A.parse_stream(iter(events)))
    assert_ir_grammar(out)
    assert [type(e).__name__ for e in out] == ["Start", "PartStart", "Delta", "PartStop", "Finish"]
    assert out[2].text == "Hi"


def test_malformed_type_and_index_values_do_not_raise():
    events = [sse({"type": ["message_start"]}, "ping"),
              sse({"type": "content_block_start", "index": [0], "content_block": {"type": "text", "text": "a"}}),
              sse({"type": "content_block_delta", "index": {"i": 0}, "delta": {"type": "text_delta", "text": "b"}}),
              sse({"type": "content_block_stop", "index": [0]})]
    out = list(A.parse_stream(iter(events)))
    assert_ir_grammar(out)
    assert "".join(e.text for e in out if isinstance(e, ir.Delta)) == "ab"


def test_event_name_is_used_when_data_has_no_type():
    events = [SSEEvent(json.dumps({"message": {"id": "msg_1", "model": "m"}}), "message_start"),
              SSEEvent(json.dumps({}), "message_stop")]
    out = list(A.parse_stream(iter(events)))
    assert (out[0].id, type(out[-1])) == ("msg_1", ir.Finish)


def test_full_usage_in_message_delta_is_merged_and_zeros_do_not_erase_counts():
    # DeepSeek / MiniMax style: message_start with zeros or partial counts, full usage at the end.
    events = [sse({"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 30, "output_tokens": 0}}}),
              sse({"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                   "usage": {"input_tokens": 0, "cache_read_input_tokens": 12, "output_tokens": 64}}),
              sse({"type": "message_stop"})]
    finish = list(A.parse_stream(iter(events)))[-1]
    assert finish == ir.Finish("max_tokens", ir.Usage(42, 64, 12, None))


def test_blocks_left_open_are_closed_before_finish():
    events = [sse({"type": "message_start", "message": {"id": "m"}}),
              sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Hi"}}),
              sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
              sse({"type": "message_stop"})]
    out = list(A.parse_stream(iter(events)))
    assert_ir_grammar(out)
    assert out[2] == ir.Delta(0, text="Hi") and out[-1].stop_reason == "end"


# ---- renderer invariants


ODD = [
    [],
    [ir.Finish()],
    [ir.PartStart(7, ir.Text("")), ir.Delta(7, text="x")],
    [ir.Start(id="a", model="b"), ir.Delta(3, text="no start")],
    [ir.Start(), ir.PartStart(2, ir.ToolCall("c", "f", "")), ir.Delta(2, arguments="{}"), ir.Finish("tool_use")],
    [ir.Start(), ir.PartStart(0, ir.Reasoning("")), ir.PartStart(1, ir.Text("")), ir.Delta(0, text="late thought"),
     ir.Delta(1, text="answer"), ir.Finish("end", ir.Usage(10, 3))],
]


@pytest.mark.parametrize("ir_events", ODD + [parse(n) for n in EXACT if n != "stream_error.sse"])
def test_rendered_streams_keep_the_sdk_invariants(ir_events):
    assert_wire_shape(render(ir_events))


def test_message_start_always_has_usage_and_carries_known_input_counts():
    first = render([ir.Start(id="x", usage=ir.Usage(input_tokens=120, cache_read_tokens=100)), ir.Finish()])[0][1]
    assert first["message"]["usage"] == {"input_tokens": 20, "cache_creation_input_tokens": 0,
                                         "cache_read_input_tokens": 100, "output_tokens": 0}
    bare = render([ir.Finish()], ir.Request(model="claude-x"))[0][1]["message"]
    assert bare["usage"]["input_tokens"] == 0 and bare["model"] == "claude-x" and bare["id"].startswith("msg_")


def test_message_delta_carries_stop_reason_and_the_usage_known_at_the_end():
    pairs = render([ir.Start(), ir.Finish("max_tokens", ir.Usage(50, 7, 20, 5), None)])
    assert pairs[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 5,
                                      "cache_read_input_tokens": 20, "output_tokens": 7}}


@pytest.mark.parametrize("stop, has_tool, wire_stop", [(None, False, "end_turn"), (None, True, "tool_use"),
                                                       ("end", True, "tool_use"), ("content_filter", False, "refusal")])
def test_stop_reason_is_never_null_and_tool_calls_mean_tool_use(stop, has_tool, wire_stop):
    events = [ir.PartStart(0, ir.ToolCall("c", "f", ""))] if has_tool else []
    assert render(events + [ir.Finish(stop)])[-2][1]["delta"]["stop_reason"] == wire_stop


def test_a_streamed_refusal_is_a_text_block_with_stop_reason_refusal():
    pairs = render([ir.PartStart(0, ir.Refusal("")), ir.Delta(0, text="No."), ir.Finish("end")])
    assert pairs[1][1]["content_block"] == {"type": "text", "text": ""}
    assert pairs[2][1]["delta"] == {"type": "text_delta", "text": "No."}
    assert pairs[-2][1]["delta"]["stop_reason"] == "refusal"


def test_message_stop_is_emitted_once_and_nothing_follows_finish():
    pairs = render([ir.Finish("end"), ir.PartStart(0, ir.Text("")), ir.Finish("end")])
    assert [t for t, _ in pairs] == ["message_start", "message_delta", "message_stop"]


def test_parallel_tool_calls_interleaved_keep_their_own_block_indexes():
    events = [ir.Start(), ir.PartStart(4, ir.ToolCall("call_a", "f", "")),
              ir.PartStart(9, ir.ToolCall("call_b", "g", "")),
              ir.Delta(4, arguments='{"x":'), ir.Delta(9, arguments='{"y":2}'), ir.Delta(4, arguments="1}"),
              ir.PartStop(9), ir.PartStop(4), ir.Finish("tool_use")]
    pairs = render(events)
    assert_wire_shape(pairs)
    starts = [(d["index"], d["content_block"]["id"]) for t, d in pairs if t == "content_block_start"]
    assert starts == [(0, "call_a"), (1, "call_b")]
    json_by_block = {}
    for t, d in pairs:
        if t == "content_block_delta":
            json_by_block[d["index"]] = json_by_block.get(d["index"], "") + d["delta"]["partial_json"]
    assert {i: json.loads(s) for i, s in json_by_block.items()} == {0: {"x": 1}, 1: {"y": 2}}


def test_tool_use_opens_with_empty_input_and_empty_arguments_send_no_delta():
    pairs = render([ir.PartStart(0, ir.ToolCall("call_1", "f", "")), ir.PartStop(0), ir.Finish("tool_use")])
    assert pairs[1][1]["content_block"] == {"type": "tool_use", "id": "call_1", "name": "f", "input": {}}
    assert [t for t, _ in pairs].count("content_block_delta") == 0


@pytest.mark.parametrize("stop_extras, signature", [({}, ""), ({"anthropic": {"signature": "c2lnCg=="}}, "c2lnCg==")])
def test_thinking_blocks_open_with_empty_fields_and_end_with_a_signature_delta(stop_extras, signature):
    pairs = render([ir.PartStart(0, ir.Reasoning("")), ir.Delta(0, text="hmm"), ir.PartStop(0, stop_extras),
                    ir.Finish()])
    assert pairs[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert pairs[3][1]["delta"] == {"type": "signature_delta", "signature": signature}
    assert pairs[4][0] == "content_block_stop"


def test_redacted_reasoning_from_another_family_is_not_shown():
    pairs = render([ir.PartStart(0, ir.Reasoning("", is_redacted=True)), ir.PartStop(0), ir.PartStart(1, ir.Text("")),
                    ir.Delta(1, text="hi"), ir.Finish()])
    assert [d["content_block"]["type"] for t, d in pairs if t == "content_block_start"] == ["text"]
    assert_wire_shape(pairs)


def test_text_or_thinking_still_open_is_closed_when_the_next_block_opens():
    pairs = render(ODD[-1])
    assert_wire_shape(pairs)
    starts = [d["content_block"]["type"] for t, d in pairs if t == "content_block_start"]
    assert starts == ["thinking", "text", "thinking", "text"]  # late deltas continue in fresh blocks
    thoughts = "".join(d["delta"].get("thinking", "") for t, d in pairs if t == "content_block_delta")
    assert thoughts == "late thought"


def test_an_error_mid_stream_becomes_an_error_event_and_ends_the_stream():
    pairs = render([ir.Start(), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="par"),
                    ir.Error(429, "slow down", "rate_limit_error"), ir.Finish()])
    assert pairs[-1] == ("error", {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
    assert [t for t, _ in pairs].count("message_stop") == 0


def test_render_stream_error_is_an_error_event():
    event = A.render_stream_error(ir.Error(529, "Overloaded", "overloaded_error"))
    assert event.encode() == (b'event: error\ndata: {"type":"error","error":'
                              b'{"type":"overloaded_error","message":"Overloaded"}}\n\n')


# ---- the real SDK (test-only dependency; skipped when absent)


def _sdk_client(body: bytes, status: int = 200):
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")

    def handler(request):
        return httpx2.Response(status, content=body, headers={"content-type": "text/event-stream"})

    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return anthropic, anthropic.Anthropic(base_url="http://gateway.test", api_key="sk-dummy", max_retries=0,
                                          http_client=client)


def test_the_anthropic_sdk_accumulates_a_stream_rendered_from_another_family():
    ir_events = [ir.Start(id="chatcmpl-1", model="gpt-x"), ir.PartStart(0, ir.Reasoning("")),
                 ir.Delta(0, text="Let me think."), ir.PartStart(1, ir.Text("")), ir.Delta(1, text="Hello"),
                 ir.PartStart(2, ir.ToolCall("call_1", "get_weather", "")),
                 ir.PartStart(3, ir.ToolCall("call_2", "t", "")),
                 ir.Delta(2, arguments='{"city": '), ir.Delta(3, arguments="{}"), ir.Delta(2, arguments='"Paris"}'),
                 ir.Finish("tool_use", ir.Usage(30, 12, 10))]
    body = b"".join(e.encode() for e in A.render_stream(iter(ir_events), None))
    _, client = _sdk_client(body)
    msgs = [{"role": "user", "content": "hi"}]
    with client.messages.stream(model="claude-x", max_tokens=64, messages=msgs) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use", "tool_use"]
    thinking, text = final.content[:2]
    assert (thinking.thinking, thinking.signature, text.text) == ("Let me think.", "", "Hello")
    assert (final.content[2].input, final.content[3].input) == ({"city": "Paris"}, {})
    assert (final.stop_reason, final.usage.output_tokens, final.usage.input_tokens) == ("tool_use", 12, 20)
    assert body.rstrip().endswith(b'data: {"type":"message_stop"}')


def test_the_anthropic_sdk_raises_on_a_rendered_stream_error():
    body = b"".join(e.encode() for e in A.render_stream(iter([ir.Start(), ir.Error(529, "Overloaded")]), None))
    anthropic, client = _sdk_client(body)
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model="claude-x", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as s:
            s.get_final_message()
    assert info.value.body["error"]["type"] == "overloaded_error"
