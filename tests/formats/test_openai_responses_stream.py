"""openai_responses streams: parse_stream / render_stream, fixture round trips and renderer invariants."""
import glob
import io
import json
import os

import pytest

from tresor.formats import ir, sse
from tresor.formats import openai_responses as m

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "openai_responses")
F = "openai_responses"
USAGE = ir.Usage(input_tokens=10, output_tokens=5)

# What a same-family stream round trip (render_stream(parse_stream(x))) does not reproduce, and why:
#   obfuscation      random padding on delta events; dropped (IR deltas carry text only)
#   completed_at     only in the terminal response object; the response.created object is the template
#   error event      gains the documented flat code/message/param next to the nested `error` object
REGENERATED = ("obfuscation", "completed_at", "error event flat fields")


def read(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return list(sse.iter_events(io.BytesIO(f.read()).readline))


def sse_text(text):
    return list(sse.iter_events(io.BytesIO(text.encode()).readline))


def parse(name_or_events):
    events = read(name_or_events) if isinstance(name_or_events, str) else name_or_events
    return list(m.parse_stream(iter(events)))


def render(ir_events, request=None):
    return list(m.render_stream(iter(ir_events), request))


def payloads(events):
    return [json.loads(e.data) for e in events]


def normalized(events):
    out = []
    for e in events:
        data = json.loads(e.data)
        data.pop("obfuscation", None)
        if data["type"] == "error":
            for key in ("code", "message", "param"):
                data.pop(key, None)
        elif isinstance(data.get("response"), dict):
            data["response"].pop("completed_at", None)
        out.append((e.event, data))
    return out


def assert_strict_stream(events):
    """What the openai SDK's responses.stream() accumulator and Codex require; returns the final response."""
    data = payloads(events)
    assert [e.event for e in events] == [d["type"] for d in data], "event: line must equal the type"
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    assert data[0]["type"] == "response.created" and data[1]["type"] == "response.in_progress"
    created = data[0]["response"]
    assert created["id"] and isinstance(created["created_at"], int) and "model" in created
    added, done, content_parts = {}, {}, set()
    for d in data[2:-1]:
        kind, oi = d["type"], d.get("output_index")
        if kind == "response.output_item.added":
            assert oi == len(added), "output_index must grow one by one"
            added[oi] = d["item"]
            continue
        assert oi in added, "%s before its output_item.added" % kind
        assert oi not in done, "%s after its output_item.done" % kind
        if kind == "response.content_part.added":
            content_parts.add((oi, d["content_index"]))
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            assert (oi, d["content_index"]) in content_parts, "text delta before content_part.added"
        elif kind == "response.output_item.done":
            assert d["item"].get("id") == added[oi].get("id") and d["item"]["type"] == added[oi]["type"]
            done[oi] = d["item"]
    final = data[-1]
    assert final["type"] in ("response.completed", "response.incomplete")
    assert sorted(done) == sorted(added), "every item needs output_item.done"
    assert final["response"]["output"] == [done[i] for i in sorted(done)]
    usage = final["response"]["usage"]
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert isinstance(usage[key], int)
    assert isinstance(usage["input_tokens_details"]["cached_tokens"], int)
    return final["response"]


def kinds(events):
    return [json.loads(e.data)["type"] for e in events]


# -- fixtures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(os.path.basename(p) for p in glob.glob(os.path.join(FIXTURES, "*.sse"))))
def test_stream_round_trip(name):
    events = read(name)
    assert normalized(render(parse(events))) == normalized(events)


@pytest.mark.parametrize("name", ["stream_text.sse", "stream_tool_calls.sse", "stream_reasoning.sse",
                                  "stream_refusal.sse", "stream_reasoning_text.sse", "stream_incomplete.sse"])
def test_rendered_fixture_streams_satisfy_strict_clients(name):
    assert_strict_stream(render(parse(name)))


# -- parse --------------------------------------------------------------------------------------

def test_parse_text_stream():
    events = parse("stream_text.sse")
    start, part_start, *deltas, stop, finish = events
    assert (start.id, start.model, start.created_s) == ("resp_68b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4",
                                                        "gpt-4.1-2025-04-14", 1756400000)
    assert part_start.index == 0 and isinstance(part_start.part, ir.Text)
    assert [d.text for d in deltas] == ["Hello", " from", " world", "!"]
    assert stop.index == 0 and stop.extras[F]["item"]["id"] == "msg_68b0c1d2e3f4a5b6"
    assert finish == ir.Finish("end", ir.Usage(input_tokens=12, output_tokens=5, cache_read_tokens=0,
                                               reasoning_tokens=0))


def test_parse_parallel_tool_calls_keep_one_index_per_call():
    events = parse("stream_tool_calls.sse")
    starts = [e for e in events if isinstance(e, ir.PartStart)]
    assert [(s.index, type(s.part).__name__, getattr(s.part, "id", None)) for s in starts] == [
        (0, "Text", None), (1, "ToolCall", "call_Paris01"), (2, "ToolCall", "call_Tokyo02")]
    args = {}
    for e in events:
        if isinstance(e, ir.Delta) and e.arguments:
            args[e.index] = args.get(e.index, "") + e.arguments
    assert args == {1: '{"location":"Paris, France"}', 2: '{"location":"Tokyo, Japan"}'}
    finish = events[-1]
    assert finish.stop_reason == "tool_use" and finish.usage.cache_read_tokens == 128


def test_parse_reasoning_joins_summaries_and_keeps_encrypted_content():
    events = parse("stream_reasoning.sse")
    text = "".join(e.text for e in events if isinstance(e, ir.Delta) and e.index == 0)
    assert text == ("**Planning the answer**\n\nThe user wants a greeting.\n\n**Answering**\n\nKeep it short.")
    assert any(isinstance(e, ir.Delta) and e.index == 0 and e.text == "\n\n" for e in events)
    stop = next(e for e in events if isinstance(e, ir.PartStop) and e.index == 0)
    assert stop.extras[F]["item"]["encrypted_content"] == "gAAAAABoENCRYPTED-STREAM-1=="
    assert events[-1].usage == ir.Usage(input_tokens=1500, output_tokens=120, cache_read_tokens=1024,
                                        reasoning_tokens=96)


def test_parse_raw_reasoning_text():
    events = parse("stream_reasoning_text.sse")
    start = events[1]
    assert isinstance(start.part, ir.Reasoning) and start.part.extras[F]["mode"] == "content"
    assert "".join(e.text for e in events if isinstance(e, ir.Delta) and e.index == 0) == \
        "The user says hello. Respond politely."


def test_parse_refusal_and_incomplete():
    refusal = parse("stream_refusal.sse")
    assert isinstance(refusal[1].part, ir.Refusal)
    assert "".join(e.text for e in refusal if isinstance(e, ir.Delta)) == "I'm sorry, I can't help with that."
    assert parse("stream_incomplete.sse")[-1].stop_reason == "max_tokens"


def test_parse_in_band_error_stops_the_stream():
    events = parse("stream_error.sse")
    assert isinstance(events[-1], ir.Error)
    assert events[-1] == ir.Error(500, "The server had an error while processing your request. Sorry about that!",
                                  "server_error", "server_error")
    assert not any(isinstance(e, ir.Finish) for e in events)


def test_parse_response_failed_event():
    failed = {"type": "response.failed", "sequence_number": 3, "response": {
        "id": "resp_1", "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "Slow down"}}}
    events = parse(sse_text("event: response.failed\ndata: %s\n\n" % json.dumps(failed)))
    assert events == [ir.Error(429, "Slow down", "rate_limit_error", "rate_limit_exceeded")]


def test_truncated_stream_still_ends_with_finish():
    events = read("stream_tool_calls.sse")[:11]  # stops inside the first function call's arguments
    out = parse(events)
    assert isinstance(out[0], ir.Start) and isinstance(out[-1], ir.Finish)
    assert out[-1].stop_reason == "tool_use" and out[-1].usage == ir.Usage()
    stops = {e.index for e in out if isinstance(e, ir.PartStop)}
    assert stops == {e.index for e in out if isinstance(e, ir.PartStart)}


def test_parse_tolerates_missing_events_keepalives_and_done_marker():
    text = (": keep-alive\n\n"
            "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
            "event: ping\ndata: {\"type\":\"ping\"}\n\n"
            "data: not json\n\n"
            "event: response.function_call_arguments.delta\n"
            "data: {\"output_index\":1,\"item_id\":\"fc_9\",\"delta\":\"{}\"}\n\n"
            "data: [DONE]\n\n")
    events = parse(sse_text(text))
    assert [type(e).__name__ for e in events] == ["Start", "PartStart", "Delta", "PartStart", "Delta", "PartStop",
                                                  "PartStop", "Finish"]
    assert events[3].part.id == "fc_9" and events[4].arguments == "{}"
    assert events[-1].stop_reason == "tool_use"


def test_parse_items_given_only_by_output_item_done():
    item = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "whole answer", "annotations": []}]}
    call = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{\"a\":1}"}
    text = "".join("data: %s\n\n" % json.dumps(d) for d in (
        {"type": "response.created", "response": {"id": "resp_1", "model": "m", "created_at": 1}},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.output_item.done", "output_index": 1, "item": call},
        {"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": [item, call],
                                                    "usage": {"input_tokens": 3, "output_tokens": 4}}}))
    events = parse(sse_text(text))
    assert [(type(e).__name__, getattr(e, "text", None) or getattr(e, "arguments", None)) for e in events[1:]] == [
        ("PartStart", None), ("Delta", "whole answer"), ("PartStop", None),
        ("PartStart", None), ("Delta", '{"a":1}'), ("PartStop", None), ("Finish", None)]
    assert events[-1] == ir.Finish("tool_use", ir.Usage(input_tokens=3, output_tokens=4))


def test_parse_infers_output_index_when_a_server_omits_it():
    text = "".join("data: %s\n\n" % json.dumps(d) for d in (
        {"type": "response.output_item.added", "item": {"id": "fc_1", "type": "function_call", "call_id": "c1",
                                                         "name": "f", "arguments": ""}},
        {"type": "response.output_item.added", "item": {"id": "fc_2", "type": "function_call", "call_id": "c2",
                                                         "name": "g", "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "{}"},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_2", "delta": "[]"}))
    events = parse(sse_text(text))
    assert [(e.index, e.arguments) for e in events if isinstance(e, ir.Delta)] == [(0, "{}"), (1, "[]")]


def test_parse_usage_comes_from_the_terminal_event_response():
    # The Go translator looked for top-level `usage` and never found it.
    event = {"type": "response.completed", "response": {"status": "completed", "usage": {
        "input_tokens": 9, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 11}}}
    assert m.parse_usage(event) == ir.Usage(9, 2, 4, None, 1)
    assert parse(sse_text("data: %s\n\n" % json.dumps(event)))[-1].usage == ir.Usage(9, 2, 4, None, 1)


def test_empty_stream_still_starts_and_finishes():
    assert parse([]) == [ir.Start(), ir.Finish("end", ir.Usage())]


# -- render invariants ----------------------------------------------------------------------------

def test_created_comes_first_with_created_at_and_model():
    events = render([ir.Start("msg_01", "claude-x", created_s=1700000000), ir.Finish("end", USAGE)])
    created = payloads(events)[0]
    assert created["type"] == "response.created" and created["sequence_number"] == 0
    assert (created["response"]["id"], created["response"]["created_at"], created["response"]["model"]) == (
        "resp_msg_01", 1700000000, "claude-x")
    assert created["response"]["status"] == "in_progress" and created["response"]["output"] == []
    assert kinds(events) == ["response.created", "response.in_progress", "response.completed"]


def test_no_start_is_synthesized_with_the_request_model():
    req = ir.Request(model="gpt-alias")
    events = render([ir.PartStart(0, ir.Text("")), ir.Delta(0, text="hi"), ir.PartStop(0), ir.Finish("end", USAGE)],
                    req)
    final = assert_strict_stream(events)
    assert final["model"] == "gpt-alias" and final["output"][0]["content"][0]["text"] == "hi"


def test_items_are_added_before_deltas_with_monotonic_output_index():
    events = render([ir.Start("x", "m"), ir.PartStart(0, ir.Reasoning("")), ir.Delta(0, text="plan"),
                     ir.PartStop(0), ir.PartStart(1, ir.Text("")), ir.Delta(1, text="answer"), ir.PartStop(1),
                     ir.PartStart(2, ir.ToolCall("call_1", "f")), ir.Delta(2, arguments="{}"), ir.PartStop(2),
                     ir.Finish("tool_use", USAGE)])
    final = assert_strict_stream(events)
    assert [item["type"] for item in final["output"]] == ["reasoning", "message", "function_call"]
    assert final["output"][0]["summary"] == [{"type": "summary_text", "text": "plan"}]
    assert kinds(events)[2:9] == ["response.output_item.added", "response.reasoning_summary_part.added",
                                  "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                                  "response.reasoning_summary_part.done", "response.output_item.done",
                                  "response.output_item.added"]


def test_content_part_added_before_text_delta():
    events = kinds(render([ir.Start(), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="a"), ir.Finish("end")]))
    assert events.index("response.content_part.added") < events.index("response.output_text.delta")


def test_finish_with_open_parts_closes_them_in_output_order():
    events = render([ir.Start(), ir.PartStart(0, ir.Text("")), ir.PartStart(1, ir.ToolCall("call_a", "f")),
                     ir.Delta(0, text="t"), ir.Delta(1, arguments='{"x":1}'), ir.Finish("tool_use", USAGE)])
    final = assert_strict_stream(events)
    assert [i["status"] for i in final["output"]] == ["completed", "completed"]
    done = [d["output_index"] for d in payloads(events) if d["type"] == "response.output_item.done"]
    assert done == [0, 1]


def test_interleaved_parallel_tool_calls_keep_per_call_indexes():
    events = render([ir.Start(), ir.PartStart(0, ir.ToolCall("call_a", "weather")),
                     ir.PartStart(1, ir.ToolCall("call_b", "weather")),
                     ir.Delta(0, arguments='{"city":'), ir.Delta(1, arguments='{"city":"Tokyo"}'),
                     ir.Delta(0, arguments='"Paris"}'), ir.PartStop(1), ir.PartStop(0), ir.Finish("tool_use", USAGE)])
    final = assert_strict_stream(events)
    deltas = [(d["output_index"], d["item_id"], d["delta"]) for d in payloads(events)
              if d["type"] == "response.function_call_arguments.delta"]
    assert deltas == [(0, "fc_a", '{"city":'), (1, "fc_b", '{"city":"Tokyo"}'), (0, "fc_a", '"Paris"}')]
    assert [(i["call_id"], i["arguments"]) for i in final["output"]] == [
        ("call_a", '{"city":"Paris"}'), ("call_b", '{"city":"Tokyo"}')]


def test_completed_carries_full_output_and_usage():
    events = render([ir.Start("r", "m", usage=ir.Usage(input_tokens=50, cache_read_tokens=20)),
                     ir.PartStart(0, ir.Text("")), ir.Delta(0, text="done"), ir.PartStop(0),
                     ir.Finish("end", ir.Usage(output_tokens=7))])
    final = assert_strict_stream(events)
    assert final["status"] == "completed" and len(final["output"]) == 1
    assert final["usage"] == {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 20}, "output_tokens": 7,
                              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 57}


def test_max_tokens_renders_response_incomplete():
    events = render([ir.Start(), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="cut"), ir.Finish("max_tokens", USAGE)])
    final = assert_strict_stream(events)
    assert kinds(events)[-1] == "response.incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_error_mid_stream_emits_error_then_failed_and_stops():
    events = render([ir.Start("r", "m"), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="par"),
                     ir.Error(529, "Overloaded", "overloaded_error"), ir.Delta(0, text="ignored"), ir.Finish("end")])
    data = payloads(events)
    assert [d["type"] for d in data][-2:] == ["error", "response.failed"]
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    assert data[-2]["error"] == {"type": "server_error", "code": None, "message": "Overloaded", "param": None}
    assert data[-1]["response"]["status"] == "failed"
    assert data[-1]["response"]["error"] == {"code": "server_error", "message": "Overloaded"}


def test_error_before_anything_is_a_lone_error_event():
    events = render([ir.Error(429, "slow down", "rate_limit_error", "rate_limit_exceeded")])
    assert [e.event for e in events] == ["error"]
    assert payloads(events)[0]["error"]["message"] == "slow down"


def test_tool_call_without_arguments_gets_an_empty_object():
    final = assert_strict_stream(render([ir.Start(), ir.PartStart(0, ir.ToolCall("toolu_1", "ls")), ir.PartStop(0),
                                         ir.Finish("tool_use", USAGE)]))
    assert final["output"][0]["arguments"] == "{}" and final["output"][0]["id"] == "fc_toolu_1"


def test_stream_without_finish_is_completed_and_events_after_finish_are_ignored():
    assert kinds(render([ir.Start()]))[-1] == "response.completed"
    events = render([ir.Start(), ir.Finish("end"), ir.PartStart(0, ir.Text("late"))])
    assert kinds(events) == ["response.created", "response.in_progress", "response.completed"]


def test_delta_without_part_start_opens_the_part():
    final = assert_strict_stream(render([ir.Start(), ir.Delta(3, text="orphan"), ir.Finish("end")]))
    assert final["output"][0]["content"][0]["text"] == "orphan"


def test_foreign_reasoning_is_one_summary_even_with_blank_lines():
    events = render([ir.Start(), ir.PartStart(0, ir.Reasoning("")), ir.Delta(0, text="a"), ir.Delta(0, text="\n\n"),
                     ir.Delta(0, text="b"), ir.PartStop(0, {"anthropic": {"signature": "sig"}}), ir.Finish("end")])
    final = assert_strict_stream(events)
    assert final["output"][0]["summary"] == [{"type": "summary_text", "text": "a\n\nb"}]


def test_refusal_part_renders_refusal_events():
    events = render([ir.Start(), ir.PartStart(0, ir.Refusal("")), ir.Delta(0, text="No."), ir.Finish("end")])
    final = assert_strict_stream(events)
    assert "response.refusal.delta" in kinds(events)
    assert final["output"][0]["content"] == [{"type": "refusal", "refusal": "No."}]


def test_stream_echoes_the_client_request():
    req = m.parse_request({"model": "gpt-x", "instructions": "be brief", "input": "hi", "store": False,
                           "tools": [{"type": "function", "name": "f", "parameters": {}}, {"type": "web_search"}],
                           "reasoning": {"effort": "low"}, "max_output_tokens": 100, "stream": True})
    created = payloads(render([ir.Start("id1", "claude"), ir.Finish("end")], req))[0]["response"]
    assert (created["instructions"], created["max_output_tokens"], created["store"]) == ("be brief", 100, False)
    assert [t["type"] for t in created["tools"]] == ["function", "web_search"]
    assert created["reasoning"] == {"effort": "low", "summary": None}


# -- properties over every fixture ---------------------------------------------------------------

STREAMS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(FIXTURES, "*.sse")))


def assert_ir_grammar(events):
    """Start (PartStart Delta* PartStop)* Finish, parts may interleave; or Error at any point, last."""
    assert isinstance(events[0], (ir.Start, ir.Error))
    opened, stopped = set(), set()
    for position, event in enumerate(events):
        if isinstance(event, (ir.Finish, ir.Error)):
            assert position == len(events) - 1, "Finish / Error must be last"
            if isinstance(event, ir.Finish):
                assert opened == stopped, "every part stopped before Finish"
        elif isinstance(event, ir.Start):
            assert position == 0
        elif isinstance(event, ir.PartStart):
            assert event.index not in opened and event.index == len(opened), "indexes 0, 1, 2… by first appearance"
            opened.add(event.index)
        else:
            assert event.index in opened and event.index not in stopped
            if isinstance(event, ir.PartStop):
                stopped.add(event.index)
    assert isinstance(events[-1], (ir.Finish, ir.Error))


@pytest.mark.parametrize("name", STREAMS)
def test_every_prefix_parses_to_the_ir_grammar_and_renders_strictly(name):
    events = read(name)
    for cut in range(len(events) + 1):
        parsed = parse(events[:cut])
        assert_ir_grammar(parsed)
        if not isinstance(parsed[-1], ir.Error):
            assert_strict_stream(render(parsed))


@pytest.mark.parametrize("name", STREAMS)
def test_any_missing_ir_event_still_renders_strictly(name):
    parsed = parse(name)
    for drop in range(len(parsed)):
        odd = parsed[:drop] + parsed[drop + 1:]
        if any(isinstance(e, ir.Error) for e in odd):
            continue
        assert_strict_stream(render(odd))
