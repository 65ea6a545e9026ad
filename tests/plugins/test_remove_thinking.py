"""remove_thinking: bodies and streams of all four formats, block/item renumbering, the real SDK accumulators."""
import copy
import io
import json
import os
from types import SimpleNamespace

import pytest

from tresor.formats.sse import SSEEvent, iter_events
from tresor.plugins.remove_thinking import RemoveThinking

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
PLUGIN = RemoveThinking()


def x_of(fmt):
    return SimpleNamespace(format=fmt, body={}, headers={}, path="/", meta={})


def fixture_json(fmt, name):
    with open(os.path.join(FIXTURES, fmt, name), encoding="utf-8") as f:
        return json.load(f)


def fixture_events(fmt, name):
    with open(os.path.join(FIXTURES, fmt, name), "rb") as f:
        return list(iter_events(io.BytesIO(f.read()).readline))


def ev(obj):
    """One named SSE event, as Anthropic and Responses upstreams send them (`event:` = the payload's type)."""
    return SSEEvent(json.dumps(obj), obj.get("type"))


def run(fmt, events):
    return list(PLUGIN.stream(x_of(fmt), iter(events)))


def payloads(events):
    return [json.loads(e.data) if e.data.startswith("{") else e.data for e in events]


def body_bytes(events):
    return b"".join(e.encode() for e in events)


# ---- the real SDKs (test-only dependencies) over an in-memory transport

def _http_client(raw):
    httpx2 = pytest.importorskip("httpx2")
    return httpx2.Client(transport=httpx2.MockTransport(
        lambda request: httpx2.Response(200, content=raw, headers={"content-type": "text/event-stream"})))


def anthropic_final(events):
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url="http://t.test", api_key="k", max_retries=0,
                                 http_client=_http_client(body_bytes(events)))
    with client.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_message()


def openai_client(events):
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url="http://t.test/v1", api_key="k", max_retries=0,
                         http_client=_http_client(body_bytes(events)))


# ---- non-streamed bodies


def test_openai_reasoning_content_is_removed_from_the_message():
    body = fixture_json("openai", "response_reasoning.json")
    out = PLUGIN.response(x_of("openai"), body)
    message = out["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "There are 3 r's in strawberry."}
    assert out["usage"]["completion_tokens_details"] == {"reasoning_tokens": 98}  # billing info stays


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning", "reasoning_details"])
def test_every_openai_reasoning_spelling_is_removed(key):
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "A", key: "why"}}]}
    assert PLUGIN.response(x_of("openai"), body)["choices"][0]["message"] == {"role": "assistant", "content": "A"}


def test_anthropic_thinking_and_redacted_thinking_blocks_are_removed():
    body = fixture_json("anthropic", "response_tool_use.json")
    body["content"].insert(1, {"type": "redacted_thinking", "data": "EmwK"})
    body["usage"]["thinking_tokens"] = 40
    out = PLUGIN.response(x_of("anthropic"), body)
    assert [b["type"] for b in out["content"]] == ["text", "tool_use", "tool_use"]
    assert "thinking_tokens" not in out["usage"] and out["usage"]["output_tokens"] == 134


def test_responses_reasoning_items_are_removed_from_output():
    body = fixture_json("openai_responses", "response_reasoning.json")
    assert any(item["type"] == "reasoning" for item in body["output"])
    out = PLUGIN.response(x_of("openai_responses"), body)
    assert out["output"] and all(item["type"] != "reasoning" for item in out["output"])
    assert out["reasoning"] == body["reasoning"]  # the request's reasoning config is not an output


def test_gemini_thought_parts_are_removed_and_the_signature_part_kept():
    body = fixture_json("gemini", "response_reasoning.json")
    out = PLUGIN.response(x_of("gemini"), body)
    assert out["candidates"][0]["content"]["parts"] == [{"text": "17 × 23 = 391."},
                                                        {"text": "", "thoughtSignature": "CvEBAVSoXO0Gk"}]
    assert out["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.parametrize("fmt, name", [("openai", "response_text.json"), ("anthropic", "response_text.json"),
                                       ("openai_responses", "response_text.json"), ("gemini", "response_text.json")])
def test_bodies_without_reasoning_are_unchanged(fmt, name):
    body = fixture_json(fmt, name)
    assert PLUGIN.response(x_of(fmt), copy.deepcopy(body)) == body


def test_a_format_it_does_not_know_passes_untouched():
    body = {"choices": [{"message": {"reasoning_content": "x"}}]}
    assert PLUGIN.response(x_of("cohere"), body) is body and body["choices"][0]["message"] == {"reasoning_content": "x"}
    events = [SSEEvent('{"reasoning_content":"x"}'), SSEEvent("[DONE]")]
    assert run("cohere", events) == events


# ---- OpenAI Chat streams


def test_deepseek_stream_keeps_role_content_finish_and_done_chunks():
    events = fixture_events("openai", "stream_reasoning_deepseek.sse")
    out = run("openai", events)
    data = payloads(out)
    assert len(out) == len(events) - 2  # the two reasoning-only chunks are gone
    assert data[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert "".join(d["choices"][0]["delta"].get("content") or "" for d in data[:-1]) == "There are 3."
    assert data[-2]["choices"][0]["finish_reason"] == "stop" and data[-2]["usage"]["total_tokens"] == 55
    assert data[-1] == "[DONE]" and out[-1] is events[-1]
    assert all("reasoning_content" not in d["choices"][0]["delta"] for d in data[:-1])


def test_chunks_without_reasoning_pass_as_the_same_objects():
    events = fixture_events("openai", "stream_text.sse")
    out = run("openai", events)
    assert len(out) == len(events) and all(a is b for a, b in zip(out, events))


def test_vllm_reasoning_chunks_that_carry_usage_are_kept_without_the_reasoning():
    events = fixture_events("openai", "stream_vllm_reasoning.sse")
    out = run("openai", events)
    assert len(out) == len(events)
    assert [d["choices"][0]["delta"] for d in payloads(out)[:2]] == [{"role": "assistant"}, {}]
    chunks = list(openai_client(out).chat.completions.create(model="m", messages=[], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Four."
    assert all(getattr(c.choices[0].delta, "reasoning", None) is None for c in chunks if c.choices)


# ---- Anthropic streams


def test_anthropic_stream_drops_only_the_thinking_block_and_renumbers_the_rest():
    events = fixture_events("anthropic", "stream_tool_use.sse")
    out = run("anthropic", events)
    data = payloads(out)
    indexed = [d for d in data if "index" in d]
    assert sorted({d["index"] for d in indexed}) == [0, 1, 2, 3]
    assert [d["content_block"]["type"] for d in indexed if d["type"] == "content_block_start"] == [
        "text", "tool_use", "tool_use", "tool_use"]
    assert not any("thinking" in e.data for e in out)
    assert out[0] is events[0] and out[-1] is events[-1] and len(out) == len(events) - 5


def test_the_anthropic_sdk_accumulates_the_renumbered_stream():
    final = anthropic_final(run("anthropic", fixture_events("anthropic", "stream_tool_use.sse")))
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use", "tool_use"]
    assert final.content[0].text == "Checking both."
    assert [b.input for b in final.content[1:]] == [{"location": "Paris, France"}, {"location": "Tokyo, Japan"}, {}]
    assert (final.stop_reason, final.usage.output_tokens) == ("tool_use", 89)


def test_redacted_thinking_is_dropped_and_citations_survive():
    final = anthropic_final(run("anthropic", fixture_events("anthropic", "stream_redacted_citations.sse")))
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == "the grass is green" and final.content[0].citations[0].cited_text


def interleaved_message():
    """Claude's interleaved thinking: text, thinking, tool_use, thinking, text (indexes 0..4)."""
    blocks = [({"type": "text", "text": ""}, {"type": "text_delta", "text": "Let me look."}),
              ({"type": "thinking", "thinking": "", "signature": ""}, {"type": "thinking_delta", "thinking": "t1"}),
              ({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
               {"type": "input_json_delta", "partial_json": '{"a": 1}'}),
              ({"type": "thinking", "thinking": "", "signature": ""}, {"type": "signature_delta", "signature": "s"}),
              ({"type": "text", "text": ""}, {"type": "text_delta", "text": "Done."})]
    out = [ev({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                     "model": "m", "content": [], "stop_reason": None,
                                                     "usage": {"input_tokens": 5, "output_tokens": 1}}})]
    for index, (block, delta) in enumerate(blocks):
        out += [ev({"type": "content_block_start", "index": index, "content_block": block}),
                ev({"type": "content_block_delta", "index": index, "delta": delta}),
                ev({"type": "content_block_stop", "index": index})]
    return out + [ev({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}),
                  ev({"type": "message_stop"})]


def test_interleaved_thinking_blocks_are_dropped_by_their_own_index_only():
    events = interleaved_message()
    out = run("anthropic", events)
    data = payloads(out)
    assert [(d["type"], d["index"]) for d in data if "index" in d] == [
        (kind, index) for index in range(3) for kind in ("content_block_start", "content_block_delta",
                                                         "content_block_stop")]
    assert all(a is b for a, b in zip(out[:4], events[:4]))  # before the first thinking block: untouched
    final = anthropic_final(out)
    assert [b.type for b in final.content] == ["text", "tool_use", "text"]
    assert (final.content[1].input, final.content[2].text) == ({"a": 1}, "Done.")


def test_state_resets_at_message_stop():
    # A second message on the same stream (e.g. a retry relayed whole) starts from index 0 again.
    first, second = interleaved_message(), fixture_events("anthropic", "stream_text.sse")
    out = run("anthropic", first + second)
    assert len(out) == len(first) - 6 + len(second)
    assert all(a is b for a, b in zip(out[-len(second):], second))


def test_a_stream_without_thinking_is_passed_through_untouched():
    events = fixture_events("anthropic", "stream_text.sse")
    out = run("anthropic", events)
    assert len(out) == len(events) and all(a is b for a, b in zip(out, events))


# ---- Responses streams


def test_responses_stream_drops_reasoning_and_renumbers_output_index():
    events = fixture_events("openai_responses", "stream_reasoning.sse")
    data = payloads(run("openai_responses", events))
    assert not any(d["type"].startswith("response.reasoning") for d in data)
    assert {d["output_index"] for d in data if "output_index" in d} == {0}
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    assert [item["type"] for item in data[-1]["response"]["output"]] == ["message"]


def test_the_openai_sdk_accumulates_the_stripped_responses_stream():
    client = openai_client(run("openai_responses", fixture_events("openai_responses", "stream_reasoning.sse")))
    with client.responses.stream(model="m", input="hi") as stream:
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["message"] and final.output_text == "Hi there."


def test_reasoning_text_content_parts_go_with_their_item():
    data = payloads(run("openai_responses", fixture_events("openai_responses", "stream_reasoning_text.sse")))
    parts = [d["part"]["type"] for d in data if d["type"] == "response.content_part.added"]
    assert parts == ["output_text"] and {d.get("output_index", 0) for d in data} == {0}


def test_a_reasoning_item_between_two_items_shifts_only_the_later_one():
    items = [{"id": "msg_0", "type": "message", "role": "assistant", "content": []},
             {"id": "rs_1", "type": "reasoning", "summary": []},
             {"id": "fc_2", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""}]
    events = [ev({"type": "response.output_item.added", "output_index": i, "item": item, "sequence_number": i})
              for i, item in enumerate(items)]
    events.append(ev({"type": "response.function_call_arguments.delta", "output_index": 2, "item_id": "fc_2",
                      "delta": "{}", "sequence_number": 3}))
    out = run("openai_responses", events)
    assert out[0] is events[0]
    assert [(d["item"]["id"] if "item" in d else d["type"], d["output_index"], d["sequence_number"])
            for d in payloads(out)] == [("msg_0", 0, 0), ("fc_2", 1, 1),
                                        ("response.function_call_arguments.delta", 1, 2)]


# ---- Gemini streams


def test_gemini_stream_drops_thought_only_chunks_and_keeps_the_rest_as_is():
    events = fixture_events("gemini", "stream_reasoning.sse")
    out = run("gemini", events)
    assert out == events[2:] and all(a is b for a, b in zip(out, events[2:]))


@pytest.mark.parametrize("extra, kept", [
    ({}, False),
    ({"finishReason": "STOP"}, True),
])
def test_a_gemini_thought_chunk_is_kept_when_it_carries_a_finish_reason(extra, kept):
    candidate = dict({"content": {"parts": [{"text": "hmm", "thought": True}], "role": "model"}, "index": 0}, **extra)
    out = run("gemini", [SSEEvent(json.dumps({"candidates": [candidate]}))])
    assert len(out) == int(kept)
    if kept:
        assert json.loads(out[0].data)["candidates"][0]["content"]["parts"] == []


def test_a_gemini_thought_chunk_with_usage_is_kept_without_the_thought():
    chunk = {"candidates": [{"content": {"parts": [{"text": "hmm", "thought": True}, {"text": "Hi"}]}}],
             "usageMetadata": {"promptTokenCount": 3}}
    out = run("gemini", [SSEEvent(json.dumps(chunk))])
    assert json.loads(out[0].data)["candidates"][0]["content"]["parts"] == [{"text": "Hi"}]


def test_non_json_data_passes_through_in_every_format():
    events = [SSEEvent("[DONE]"), SSEEvent("not json thinking reasoning \"thought\"")]
    for fmt in ("openai", "anthropic", "openai_responses", "gemini"):
        out = run(fmt, events)
        assert len(out) == 2 and all(a is b for a, b in zip(out, events))


def test_a_gemini_json_array_body_is_stripped_chunk_by_chunk():
    # streamGenerateContent without alt=sse answers one JSON array of chunks.
    chunks = [json.loads(e.data) for e in fixture_events("gemini", "stream_reasoning.sse")]
    out = PLUGIN.response(x_of("gemini"), chunks)
    assert [c["candidates"][0]["content"]["parts"] for c in out[:3]] == [[], [], [{"text": "17 × 23 = "}]]


def test_the_format_is_read_when_the_hook_is_called_not_at_the_first_event():
    # A converter step that runs later may change x.format; this step keeps the dialect it was given.
    x = x_of("anthropic")
    out = PLUGIN.stream(x, iter(fixture_events("anthropic", "stream_tool_use.sse")))
    x.format = "openai"
    assert not any("thinking" in e.data for e in out)
