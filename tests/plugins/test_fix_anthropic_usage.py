"""fix_anthropic_usage: usage completed in bodies and streams; message_start is never dropped (Go fb80073)."""
import json
from types import SimpleNamespace

import pytest

from tresor.formats.sse import SSEEvent
from tresor.plugins.fix_anthropic_usage import FixAnthropicUsage

PLUGIN = FixAnthropicUsage()
ZEROS = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def x_of(fmt="anthropic"):
    return SimpleNamespace(format=fmt, body={}, headers={}, path="/v1/messages", meta={})


def ev(obj, named=True):
    return SSEEvent(json.dumps(obj), obj["type"] if named else None)


def run(events, fmt="anthropic"):
    return list(PLUGIN.stream(x_of(fmt), iter(events)))


def message(**usage_fields):
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "MiniMax-M2", "content": [],
            "stop_reason": None, "stop_sequence": None}
    if usage_fields:
        body["usage"] = dict(usage_fields)
    return body


def minimax_stream(start_usage=None, delta_usage=None, named=True):
    """A MiniMax-shaped stream: message_start and message_delta with incomplete (or no) usage."""
    start = message(**start_usage) if start_usage else message()
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
    if delta_usage is not None:
        delta["usage"] = delta_usage
    objs = [{"type": "message_start", "message": start}, {"type": "ping"},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
            {"type": "content_block_stop", "index": 0}, delta, {"type": "message_stop"}]
    return [ev(o, named) for o in objs]


def payloads(events):
    return [json.loads(e.data) for e in events]


# ---- non-streamed bodies


@pytest.mark.parametrize("usage, expected", [
    (None, ZEROS),
    ({"input_tokens": 5, "output_tokens": 7}, dict(ZEROS, input_tokens=5, output_tokens=7)),
    ({"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": None},
     dict(ZEROS, input_tokens=5, output_tokens=7)),
    ({"output_tokens": 3, "service_tier": "standard"}, dict(ZEROS, output_tokens=3, service_tier="standard")),
    (dict(ZEROS, input_tokens=1, cache_read_input_tokens=9), dict(ZEROS, input_tokens=1, cache_read_input_tokens=9)),
])
def test_response_usage_gets_all_four_counts(usage, expected):
    body = message(**usage) if usage else message()
    body["content"] = [{"type": "text", "text": "Hi"}]
    out = PLUGIN.response(x_of(), body)
    assert out["usage"] == expected
    assert list(out)[:4] == ["id", "type", "role", "model"]  # the envelope is kept as it was


def test_a_count_tokens_body_is_not_given_a_usage():
    assert PLUGIN.response(x_of(), {"input_tokens": 42}) == {"input_tokens": 42}


@pytest.mark.parametrize("fmt", ["openai", "openai_responses", "gemini"])
def test_other_formats_pass_untouched(fmt):
    body = {"choices": [], "usage": {"prompt_tokens": 1}}
    assert PLUGIN.response(x_of(fmt), body) == {"choices": [], "usage": {"prompt_tokens": 1}}
    events = minimax_stream()
    assert run(events, fmt) == events


# ---- streams


def test_message_start_without_usage_is_completed_and_never_dropped():
    events = minimax_stream()
    out = run(events)
    assert len(out) == len(events) and [e.event for e in out] == [e.event for e in events]
    start = payloads(out)[0]
    assert start["message"] == dict(message(), usage=ZEROS)  # id, model, role... all still there


def test_message_delta_without_usage_gets_message_starts_counts():
    out = payloads(run(minimax_stream(start_usage={"input_tokens": 12, "output_tokens": 1})))
    assert out[0]["message"]["usage"] == dict(ZEROS, input_tokens=12, output_tokens=1)
    assert out[5]["usage"] == dict(ZEROS, input_tokens=12, output_tokens=1)
    assert out[5]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_a_partial_message_delta_usage_is_filled_from_message_start():
    start = {"input_tokens": 12, "cache_read_input_tokens": 4, "output_tokens": 1}
    out = payloads(run(minimax_stream(start_usage=start, delta_usage={"output_tokens": 30})))
    assert out[5]["usage"] == {"output_tokens": 30, "input_tokens": 12, "cache_creation_input_tokens": 0,
                               "cache_read_input_tokens": 4}


def test_a_usage_nested_in_delta_is_copied_to_the_top_level():
    events = minimax_stream(start_usage={"input_tokens": 12})
    delta = json.loads(events[5].data)
    delta.pop("usage", None)
    delta["delta"]["usage"] = {"output_tokens": 8}
    events[5] = ev(delta)
    out = payloads(run(events))
    assert out[5]["usage"] == dict(ZEROS, input_tokens=12, output_tokens=8)


def test_complete_events_and_content_events_pass_as_the_same_objects():
    events = minimax_stream(start_usage=dict(ZEROS, input_tokens=3), delta_usage=dict(ZEROS, output_tokens=5))
    out = run(events)
    assert all(a is b for a, b in zip(out, events))


def test_unnamed_events_are_fixed_too():
    out = payloads(run(minimax_stream(named=False)))
    assert out[0]["message"]["usage"] == ZEROS and out[5]["usage"] == ZEROS


def test_remembered_usage_resets_at_message_stop():
    first = minimax_stream(start_usage={"input_tokens": 12})
    orphan_delta = ev({"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
    out = payloads(run(first + [orphan_delta]))
    assert out[5]["usage"]["input_tokens"] == 12 and out[-1]["usage"] == ZEROS


def test_done_and_non_json_data_pass_through():
    events = [SSEEvent("[DONE]"), SSEEvent("oops", "message_delta")]
    out = run(events)
    assert all(a is b for a, b in zip(out, events)) and len(out) == 2


def test_the_anthropic_sdk_needs_the_fix_and_accumulates_the_fixed_stream():
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")

    def final(events):
        raw = b"".join(e.encode() for e in events)
        transport = httpx2.MockTransport(lambda request: httpx2.Response(
            200, content=raw, headers={"content-type": "text/event-stream"}))
        client = anthropic.Anthropic(base_url="http://t.test", api_key="k", max_retries=0,
                                     http_client=httpx2.Client(transport=transport))
        with client.messages.stream(model="m", max_tokens=9, messages=[{"role": "user", "content": "hi"}]) as s:
            return s.get_final_message()

    events = minimax_stream(start_usage={"input_tokens": 12})
    with pytest.raises(AttributeError, match="output_tokens"):
        final(events)  # message_delta without usage: the SDK reads event.usage.output_tokens
    message_ = final(run(events))
    assert message_.content[0].text == "Hello" and message_.usage.input_tokens == 12
    assert message_.usage.cache_read_input_tokens == 0 and message_.stop_reason == "end_turn"
