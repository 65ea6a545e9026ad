"""OpenAI Chat Completions streams: parse (provider tolerance), render (client invariants), round trips.

REGENERATED documents what a same-family stream round trip does not reproduce byte for byte:
* `obfuscation` (OpenAI's random padding field) is dropped;
* usage sub-details the IR has no field for (audio_tokens, *_prediction_tokens, DeepSeek's
  prompt_cache_*_tokens) are not re-emitted;
* chunk boundaries are canonical: the role in its own first chunk, one delta per chunk,
  null-valued delta keys omitted, an empty finish delta, usage only in the trailing chunk,
  tool-call ids only on a call's first delta, legacy `function_call` finish reasons as tool_calls.
Canonical fixtures (stream_text, stream_parallel_tools, stream_refusal, stream_error) round-trip
exactly modulo the first two; provider-shaped ones are compared after accumulation.
"""
import io
import json
import os

import pytest

from tresor.formats import get, ir, sse

oa = get("openai")
FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "openai")
REGENERATED_KEYS = ("obfuscation",)
IR_USAGE_DETAILS = {"prompt_tokens_details": ("cached_tokens",), "completion_tokens_details": ("reasoning_tokens",)}


def events_of(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return list(sse.iter_events(io.BytesIO(f.read()).readline))


def sse_events(*payloads, done=True):
    out = [sse.SSEEvent(p if isinstance(p, str) else json.dumps(p)) for p in payloads]
    return out + [sse.SSEEvent("[DONE]")] if done else out


def chunk(delta=None, finish=None, index=0, **top):
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body.update(top)
    body.setdefault("choices", [{"index": index, "delta": delta or {}, "finish_reason": finish}])
    return body


def parse(events):
    return list(oa.parse_stream(iter(events)))


def render(events, request=None):
    return list(oa.render_stream(iter(events), request))


def payloads(events):
    return [e.data if e.data == "[DONE]" else json.loads(e.data) for e in events]


def normalize(payload):
    if not isinstance(payload, dict):
        return payload
    payload = {k: v for k, v in payload.items() if k not in REGENERATED_KEYS}
    if isinstance(payload.get("usage"), dict):
        usage = {k: v for k, v in payload["usage"].items() if k not in IR_USAGE_DETAILS and not k.startswith("prompt_cache")}
        for key, keep in IR_USAGE_DETAILS.items():
            if isinstance(payload["usage"].get(key), dict):
                usage[key] = {k: v for k, v in payload["usage"][key].items() if k in keep}
        payload["usage"] = usage
    return payload


def accumulate(events):
    """What a client builds from a stream: message text per kind, calls by index, finish, usage."""
    acc = {"content": "", "reasoning": "", "refusal": "", "calls": {}, "finish": None, "usage": None,
           "ids": set(), "done": 0, "error": None}
    for data in payloads(events):
        if data == "[DONE]":
            acc["done"] += 1
            continue
        if "error" in data:
            acc["error"] = data["error"]
            continue
        acc["ids"].add((data["id"], data["object"], data["created"], data["model"]))
        acc["usage"] = oa.parse_usage(data) or acc["usage"]
        for choice in data["choices"]:
            delta = choice["delta"]
            for key, slot in (("content", "content"), ("reasoning_content", "reasoning"),
                              ("reasoning", "reasoning"), ("refusal", "refusal")):
                if delta.get(key):
                    acc[slot] += delta[key]
                    break  # the two reasoning spellings carry the same text
            for call in delta.get("tool_calls") or []:
                slot = acc["calls"].setdefault(call["index"], {"id": None, "name": "", "arguments": ""})
                slot["id"] = slot["id"] or call.get("id")
                slot["name"] += call.get("function", {}).get("name") or ""
                slot["arguments"] += call.get("function", {}).get("arguments") or ""
            acc["finish"] = choice["finish_reason"] or acc["finish"]
    return acc


def usage_request():
    return ir.Request(is_usage_in_stream=True)


# ---- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, include_usage", [
    ("stream_text.sse", True), ("stream_parallel_tools.sse", True), ("stream_refusal.sse", False),
    ("stream_error.sse", False)])
def test_canonical_stream_round_trip_is_exact(name, include_usage):
    events = events_of(name)
    request = ir.Request(is_usage_in_stream=include_usage)
    out = render(parse(events), request)
    assert [normalize(p) for p in payloads(out)] == [normalize(p) for p in payloads(events)]


@pytest.mark.parametrize("name", ["stream_text.sse", "stream_parallel_tools.sse", "stream_refusal.sse",
                                  "stream_interleaved_tools.sse", "stream_tools_openai.sse",
                                  "stream_reasoning_deepseek.sse",
                                  "stream_vllm_reasoning.sse", "stream_error.sse"])
def test_provider_stream_round_trip_accumulates_the_same(name):
    events = events_of(name)
    out = render(parse(events), usage_request())
    before, after = accumulate(events), accumulate(out)
    for key in ("content", "reasoning", "refusal", "calls", "finish", "ids", "error"):
        assert after[key] == before[key], key
    if before["usage"] is not None:
        assert after["usage"] == before["usage"]


# ---- parse -------------------------------------------------------------------------------------

def test_parse_text_stream_events():
    got = parse(events_of("stream_text.sse"))
    start = got[0]
    assert (start.id, start.model, start.created_s) == ("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
                                                        "gpt-4o-2024-08-06", 1741570283)
    assert got[1:] == [ir.PartStart(0, ir.Text("")), ir.Delta(0, text="Hello"), ir.Delta(0, text="!"),
                       ir.Delta(0, text=" How can I"), ir.Delta(0, text=" help?"), ir.PartStop(0),
                       ir.Finish("end", ir.Usage(19, 10, 0, None, 0))]


def test_parse_sequential_calls_close_each_call_when_the_next_starts():
    got = parse(events_of("stream_parallel_tools.sse"))
    kinds = [(type(e).__name__, e.index) for e in got[1:-1]]
    assert kinds == [("PartStart", 0), ("Delta", 0), ("PartStop", 0),
                     ("PartStart", 1), ("Delta", 1), ("Delta", 1), ("PartStop", 1),
                     ("PartStart", 2), ("Delta", 2), ("Delta", 2), ("PartStop", 2)]
    assert got[-1] == ir.Finish("tool_use", ir.Usage(120, 40, 64, None, 0))


def test_parse_interleaved_tool_calls_keep_per_call_indexes():
    got = parse(events_of("stream_interleaved_tools.sse"))
    assert got[1:3] == [ir.PartStart(0, ir.ToolCall("call_a1", "get_weather", "")),
                        ir.PartStart(1, ir.ToolCall("call_b2", "get_time", ""))]
    args = {0: "", 1: ""}
    for event in got:
        if isinstance(event, ir.Delta):
            args[event.index] += event.arguments
    assert args == {0: '{"city":"Paris"}', 1: '{"tz":"Asia/Tokyo"}'}
    assert got[-1] == ir.Finish("tool_use", ir.Usage(120, 40, 64))


def test_parse_deepseek_reasoning_then_content_with_usage_on_finish_chunk():
    got = parse(events_of("stream_reasoning_deepseek.sse"))
    assert got[1:] == [ir.PartStart(0, ir.Reasoning("")), ir.Delta(0, text="Count"),
                       ir.Delta(0, text=" the r's: 3."), ir.PartStop(0),
                       ir.PartStart(1, ir.Text("")), ir.Delta(1, text="There are"), ir.Delta(1, text=" 3."),
                       ir.PartStop(1), ir.Finish("end", ir.Usage(15, 40, 0, None, 30))]


def test_parse_reasoning_alias_and_usage_in_every_chunk_last_wins():
    got = parse(events_of("stream_vllm_reasoning.sse"))
    assert got[1] == ir.PartStart(0, ir.Reasoning("", extras={"openai": {"key": "reasoning"}}))
    assert got[-1] == ir.Finish("end", ir.Usage(10, 4))


def test_parse_both_reasoning_keys_once():
    got = parse(sse_events(chunk({"role": "assistant", "reasoning_content": "a", "reasoning": "a"}), chunk({}, "stop")))
    assert got[1:4] == [ir.PartStart(0, ir.Reasoning("", extras={"openai": {"key": "both"}})),
                        ir.Delta(0, text="a"), ir.PartStop(0)]


def test_parse_error_mid_stream_ends_with_error():
    got = parse(events_of("stream_error.sse"))
    assert [type(e) for e in got] == [ir.Start, ir.PartStart, ir.Delta, ir.Error]
    assert (got[-1].status, got[-1].kind) == (500, "server_error")
    assert got[-1].message.startswith("The server had an error")


@pytest.mark.parametrize("events, status, kind", [
    (sse_events({"object": "error", "message": "bad", "type": "BadRequestError", "code": 400}), 400, "BadRequestError"),
    ([sse.SSEEvent('{"error": {"message": "slow down", "type": "rate_limit_error"}}', event="error")], 429,
     "rate_limit_error"),
    ([sse.SSEEvent("upstream exploded", event="error")], 500, "api_error"),
])
def test_parse_in_band_error_variants(events, status, kind):
    got = parse(events)
    assert len(got) == 1 and (got[0].status, got[0].kind) == (status, kind)


def test_parse_truncated_stream_still_ends_with_finish():
    got = parse(events_of("stream_truncated.sse"))
    assert isinstance(got[-1], ir.Finish) and got[-1].stop_reason is None
    stops = [e.index for e in got if isinstance(e, ir.PartStop)]
    starts = [e.index for e in got if isinstance(e, ir.PartStart)]
    assert sorted(stops) == starts == [0, 1]


def test_parse_empty_stream_is_start_and_finish():
    assert parse([]) == [ir.Start(), ir.Finish(None, ir.Usage())]
    assert parse(sse_events()) == [ir.Start(), ir.Finish(None, ir.Usage())]


def test_parse_finish_waits_for_trailing_usage_chunk_and_ignores_noise():
    got = parse(sse_events(chunk({"role": "assistant", "content": "hi"}), "not json", "", chunk({}, "length"),
                           chunk(choices=[], usage={"prompt_tokens": 3, "completion_tokens": 4})))
    assert got[-2:] == [ir.PartStop(0), ir.Finish("max_tokens", ir.Usage(3, 4))]
    assert sum(isinstance(e, ir.Finish) for e in got) == 1


def test_parse_same_index_with_new_id_is_the_same_call():
    got = parse(sse_events(
        chunk({"tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "b", "function": {"arguments": "}"}}]}), chunk({}, "stop")))
    assert [e for e in got if isinstance(e, ir.PartStart)] == [ir.PartStart(0, ir.ToolCall("a", "f", ""))]
    assert got[-1].stop_reason == "tool_use", "'stop' with tool calls is a tool_use stop"


def test_parse_index_less_calls_split_by_id_and_late_names():
    got = parse(sse_events(
        chunk({"tool_calls": [{"id": "x1", "function": {"arguments": '{"a":'}}]}),
        chunk({"tool_calls": [{"function": {"name": "f", "arguments": "1}"}}]}),
        chunk({"tool_calls": [{"id": "x2", "function": {"name": "g", "arguments": "{}"}}]}), chunk({}, "tool_calls")))
    assert [e for e in got[1:] if not isinstance(e, ir.PartStop)][:-1] == [
        ir.PartStart(0, ir.ToolCall("x1", "f", "")), ir.Delta(0, arguments='{"a":1}'),
        ir.PartStart(1, ir.ToolCall("x2", "g", "")), ir.Delta(1, arguments="{}")]


def test_parse_synthesizes_missing_tool_ids_and_ignores_other_choices():
    got = parse(sse_events(
        chunk(choices=[{"index": 1, "delta": {"content": "other"}, "finish_reason": None},
                       {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}}]),
        chunk({}, "tool_calls")))
    assert got[1] == ir.PartStart(0, ir.ToolCall("call_0", "f", ""))
    assert not any(isinstance(e, ir.Delta) for e in got)


def test_parse_text_after_tool_call_closes_nothing_but_opens_new_part():
    got = parse(sse_events(chunk({"content": "a"}), chunk({"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f"}}]}),
                           chunk({"content": "b"}), chunk({}, "tool_calls")))
    assert got[1:] == [ir.PartStart(0, ir.Text("")), ir.Delta(0, text="a"), ir.PartStop(0),
                       ir.PartStart(1, ir.ToolCall("t", "f", "")), ir.PartStart(2, ir.Text("")),
                       ir.Delta(2, text="b"), ir.PartStop(2), ir.PartStop(1), ir.Finish("tool_use", ir.Usage())]


# ---- render invariants (SPEC §3, clients.md) ----------------------------------------------------

MIXED = [ir.Start(id="msg_1", model="claude-x", usage=ir.Usage(input_tokens=5)),
         ir.PartStart(0, ir.Reasoning("", extras={"anthropic": {}})), ir.Delta(0, text="think"),
         ir.PartStop(0, extras={"anthropic": {"signature": "sig"}}),
         ir.PartStart(1, ir.Text("")), ir.Delta(1, text="Hi"), ir.PartStop(1),
         ir.PartStart(2, ir.ToolCall("t1", "a", "")), ir.PartStart(3, ir.ToolCall("t2", "b", "")),
         ir.Delta(3, arguments='{"y":'), ir.Delta(2, arguments='{"x":1}'), ir.Delta(3, arguments="2}"),
         ir.PartStop(2), ir.PartStop(3),
         ir.Finish("tool_use", ir.Usage(input_tokens=5, output_tokens=9, cache_read_tokens=2))]


def test_every_chunk_has_same_id_object_created_model():
    out = payloads(render(MIXED, usage_request()))[:-1]
    assert {(p["id"], p["object"], p["created"], p["model"]) for p in out} == {
        ("msg_1", "chat.completion.chunk", 0, "claude-x")}


def test_first_chunk_carries_role_assistant_and_choice_index_is_always_0():
    out = payloads(render(MIXED))[:-1]
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {c["index"] for p in out for c in p["choices"]} == {0}


def test_done_exactly_once_and_last():
    for request in (None, usage_request()):
        out = [e.data for e in render(MIXED, request)]
        assert out.count("[DONE]") == 1 and out[-1] == "[DONE]"


def test_reasoning_is_sent_as_reasoning_content():
    out = payloads(render(MIXED))
    assert out[1]["choices"][0]["delta"] == {"reasoning_content": "think"}
    assert out[2]["choices"][0]["delta"] == {"content": "Hi"}


def test_tool_call_deltas_carry_per_call_index_not_part_index():
    out = payloads(render(MIXED))
    calls = [c for p in out[3:-2] for c in p["choices"][0]["delta"]["tool_calls"]]
    assert calls == [
        {"index": 0, "id": "t1", "type": "function", "function": {"name": "a", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"x":1}'}},
        {"index": 1, "id": "t2", "type": "function", "function": {"name": "b", "arguments": ""}},
        {"index": 1, "function": {"arguments": '{"y":2}'}}]


def wire_calls(events, request=None):
    return [c for p in payloads(render(events, request))[:-1] if p.get("choices")
            for c in p["choices"][0]["delta"].get("tool_calls", [])]


def test_interleaved_calls_never_interleave_on_the_wire():
    calls = wire_calls(parse(events_of("stream_interleaved_tools.sse")))
    indexes = [c["index"] for c in calls]
    assert indexes == sorted(indexes) and set(indexes) == {0, 1}
    assert "".join(c["function"]["arguments"] for c in calls if c["index"] == 1) == '{"tz":"Asia/Tokyo"}'


def test_held_calls_flush_when_the_wire_frees_or_at_finish():
    events = [ir.PartStart(0, ir.ToolCall("a", "f", "")), ir.PartStart(1, ir.ToolCall("b", "g", "")),
              ir.PartStart(2, ir.ToolCall("c", "h", "")), ir.Delta(1, arguments="{}"), ir.PartStop(1),
              ir.Delta(0, arguments="{}"), ir.PartStop(0), ir.Delta(2, arguments="[1"), ir.Delta(2, arguments="]"),
              ir.Finish("tool_use")]
    calls = wire_calls(events)
    assert [(c["index"], c.get("id"), c["function"]["arguments"]) for c in calls] == [
        (0, "a", ""), (0, None, "{}"), (1, "b", ""), (1, None, "{}"), (2, "c", ""), (2, None, "[1"), (2, None, "]")]
    never_stopped = wire_calls([ir.PartStart(0, ir.ToolCall("a", "f", "")), ir.PartStart(1, ir.ToolCall("b", "g", "")),
                                ir.Delta(1, arguments="{}"), ir.Finish(None)])
    assert [(c["index"], c["function"]["arguments"]) for c in never_stopped] == [(0, ""), (1, ""), (1, "{}")]


def test_finish_chunk_has_empty_delta_and_mapped_reason():
    out = payloads(render(MIXED))
    assert out[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}
    end = payloads(render([ir.Start(), ir.PartStart(0, ir.Text("")), ir.Finish("max_tokens")]))
    assert end[-2]["choices"][0]["finish_reason"] == "length"


def test_usage_chunk_only_when_include_usage():
    with_usage = payloads(render(MIXED, usage_request()))
    assert with_usage[-2]["choices"] == [] and with_usage[-2]["usage"] == {
        "prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14, "prompt_tokens_details": {"cached_tokens": 2}}
    for request in (None, ir.Request()):
        assert not any("usage" in p for p in payloads(render(MIXED, request))[:-1])


def test_no_start_synthesizes_role_chunk_and_model_from_request():
    out = payloads(render([ir.Delta(0, text="orphan"), ir.Finish("end")], ir.Request(model="gpt-x")))
    assert out[0]["choices"][0]["delta"]["role"] == "assistant" and out[0]["model"] == "gpt-x"
    assert out[1]["choices"][0]["delta"] == {"content": "orphan"}
    assert out[-1] == "[DONE]"


def test_finish_while_parts_open_and_missing_finish_still_terminate():
    open_parts = [ir.Start(id="x"), ir.PartStart(0, ir.ToolCall("t", "f", "")), ir.Delta(0, arguments="{}"),
                  ir.Finish(None)]
    out = payloads(render(open_parts))
    assert out[-2]["choices"][0]["finish_reason"] == "tool_calls" and out[-1] == "[DONE]"
    cut = payloads(render(open_parts[:-1], usage_request()))
    assert cut[-3]["choices"][0]["finish_reason"] == "tool_calls"
    assert cut[-2]["choices"] == [] and cut[-1] == "[DONE]"


def test_error_mid_stream_emits_error_chunk_and_no_done():
    events = [ir.Start(id="x"), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="par"),
              ir.Error(status=529, message="Overloaded", kind="overloaded_error"), ir.Finish("end")]
    out = payloads(render(events, usage_request()))
    assert out[-1] == {"error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}}
    assert "[DONE]" not in out


def test_events_are_data_only_and_compact():
    for event in render(MIXED, usage_request()):
        assert event.event is None and event.id is None
        if event.data != "[DONE]":
            assert event.data == json.dumps(json.loads(event.data), separators=(",", ":"), ensure_ascii=False)


def test_extra_start_events_and_image_parts_are_ignored():
    out = payloads(render([ir.Start(id="a"), ir.Start(id="b"), ir.PartStart(0, ir.Image(url="u")),
                           ir.PartStop(0), ir.Finish("end")]))
    assert len(out) == 3 and out[1]["id"] == "a"


# ---- the real openai SDK accepts the rendered stream -------------------------------------------

def sdk_client(raw: bytes):
    openai = pytest.importorskip("openai")
    httpx = pytest.importorskip("httpx2")

    def handler(request):
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)
    return openai.OpenAI(base_url="http://test.local/v1", api_key="sk-test", max_retries=0,
                         http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def test_openai_sdk_accumulates_rendered_parallel_tool_calls():
    pydantic = pytest.importorskip("pydantic")
    openai = pytest.importorskip("openai")

    class A(pydantic.BaseModel):
        x: int

    class B(pydantic.BaseModel):
        y: int

    raw = b"".join(e.encode() for e in render(MIXED, usage_request()))
    client = sdk_client(raw)
    tools = [openai.pydantic_function_tool(A, name="a"), openai.pydantic_function_tool(B, name="b")]
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}], tools=tools) as st:
        final = st.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Hi"
    assert [(c.id, c.function.name, c.function.parsed_arguments) for c in choice.message.tool_calls] == [
        ("t1", "a", A(x=1)), ("t2", "b", B(y=2))]
    assert final.usage.total_tokens == 14


def test_openai_sdk_raises_on_rendered_stream_error():
    openai = pytest.importorskip("openai")
    events = [ir.Start(id="x"), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="a"),
              ir.Error(status=500, message="upstream reset", kind="api_error")]
    client = sdk_client(b"".join(e.encode() for e in render(events)))
    with pytest.raises(openai.APIError, match="upstream reset"):
        list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))


def sdk_json_client(status, body):
    openai = pytest.importorskip("openai")
    httpx = pytest.importorskip("httpx2")
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return openai.OpenAI(base_url="http://test.local/v1", api_key="sk-test", max_retries=0,
                         http_client=httpx.Client(transport=transport))


def test_openai_sdk_reads_a_rendered_foreign_response():
    resp = ir.Response(id="msg_1", model="claude-x", parts=[ir.Text("ok"), ir.ToolCall("t1", "f", '{"a":1}')],
                       stop_reason="tool_use", usage=ir.Usage(10, 2, cache_read_tokens=4))
    client = sdk_json_client(200, oa.render_response(resp, None))
    final = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert final.choices[0].finish_reason == "tool_calls" and final.choices[0].message.content == "ok"
    assert final.choices[0].message.tool_calls[0].function.arguments == '{"a":1}'
    assert final.usage.prompt_tokens_details.cached_tokens == 4


def test_openai_sdk_maps_rendered_error_envelopes():
    openai = pytest.importorskip("openai")
    error = ir.Error(status=429, message="slow down", kind="rate_limit_error")
    client = sdk_json_client(429, oa.render_error(error))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "rate_limit_exceeded" and caught.value.type == "rate_limit_error"
