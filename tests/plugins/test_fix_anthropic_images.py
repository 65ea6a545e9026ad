"""fix_anthropic_images: tool_result images promoted (pairing kept), tool_use lifted out of thinking, nested stream blocks."""
import copy
import json
from types import SimpleNamespace

import pytest

from tresor.formats.sse import SSEEvent
from tresor.plugins.fix_anthropic_images import PLACEHOLDER, FixAnthropicImages

PLUGIN = FixAnthropicImages()
PNG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
JPG = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
URL_IMAGE = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
TEXT = {"type": "text", "text": "Screenshot taken."}


def x_of(body=None, fmt="anthropic"):
    return SimpleNamespace(format=fmt, body=body if body is not None else {}, headers={}, path="/v1/messages",
                           meta={})


def tool_result(tool_use_id, content, **extra):
    return dict({"type": "tool_result", "tool_use_id": tool_use_id, "content": content}, **extra)


def request_with(content):
    return {"model": "qwen3-vl", "max_tokens": 256, "messages": [
        {"role": "user", "content": "Take a screenshot."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}},
                                          {"type": "tool_use", "id": "toolu_2", "name": "shot", "input": {}}]},
        {"role": "user", "content": content}]}


# ---- request: tool_result images


@pytest.mark.parametrize("content, expected", [
    ([tool_result("toolu_1", [TEXT, PNG])],
     [tool_result("toolu_1", [TEXT]), PNG]),
    ([tool_result("toolu_1", [PNG])],
     [tool_result("toolu_1", [{"type": "text", "text": PLACEHOLDER}]), PNG]),
    ([tool_result("toolu_1", [PNG, TEXT, JPG], is_error=False, cache_control={"type": "ephemeral"})],
     [tool_result("toolu_1", [TEXT], is_error=False, cache_control={"type": "ephemeral"}), PNG, JPG]),
    # Images follow the run of tool_results: the Anthropic API wants tool_result blocks first.
    ([tool_result("toolu_1", [PNG]), tool_result("toolu_2", [TEXT, JPG]), {"type": "text", "text": "go on"}],
     [tool_result("toolu_1", [{"type": "text", "text": PLACEHOLDER}]), tool_result("toolu_2", [TEXT]), PNG, JPG,
      {"type": "text", "text": "go on"}]),
    ([tool_result("toolu_1", [TEXT]), tool_result("toolu_2", [PNG])],
     [tool_result("toolu_1", [TEXT]), tool_result("toolu_2", [{"type": "text", "text": PLACEHOLDER}]), PNG]),
], ids=["text-and-image", "image-only", "fields-kept", "two-results-then-text", "second-result"])
def test_tool_result_images_move_to_the_message_and_the_pairing_stays(content, expected):
    x = x_of(request_with(content))
    PLUGIN.request(x)
    assert x.body["messages"][2]["content"] == expected
    ids = [b["tool_use_id"] for b in x.body["messages"][2]["content"] if b["type"] == "tool_result"]
    assert ids == [b["tool_use_id"] for b in content if b["type"] == "tool_result"]


@pytest.mark.parametrize("content", [
    [tool_result("toolu_1", [URL_IMAGE, TEXT])],
    [tool_result("toolu_1", "plain text result")],
    [tool_result("toolu_1", [TEXT])],
    [TEXT, PNG],
    "just text",
], ids=["url-image", "string-content", "text-only", "top-level-image", "string-message"])
def test_requests_without_base64_images_in_tool_results_are_unchanged(content):
    body = request_with(content)
    x = x_of(copy.deepcopy(body))
    PLUGIN.request(x)
    assert x.body == body


def test_other_formats_are_untouched():
    body = {"messages": [{"role": "user", "content": [tool_result("toolu_1", [PNG])]}]}
    x = x_of(copy.deepcopy(body), fmt="openai")
    PLUGIN.request(x)
    assert x.body == body


# ---- response: tool_use written inside thinking


def response_with(thinking, stop_reason="end_turn", extra=()):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "qwen3",
            "content": [{"type": "thinking", "thinking": thinking, "signature": ""}, *extra],
            "stop_reason": stop_reason, "usage": {"input_tokens": 1, "output_tokens": 2}}


CALL = {"type": "tool_use", "id": "toolu_9", "name": "read", "input": {"path": "a.py"}}


def test_a_tool_use_object_in_thinking_text_becomes_a_block():
    body = response_with("I should read it. %s Then answer." % json.dumps(CALL), extra=[TEXT])
    out = PLUGIN.response(x_of(), body)
    assert out["content"] == [{"type": "thinking", "thinking": "I should read it.  Then answer.", "signature": ""},
                              TEXT, CALL]
    assert out["stop_reason"] == "tool_use"


def test_an_array_of_tool_uses_and_a_thinking_left_empty():
    second = {"type": "tool_use", "name": "ls"}
    out = PLUGIN.response(x_of(), response_with(json.dumps([CALL, second])))
    assert [b["type"] for b in out["content"]] == ["tool_use", "tool_use"]  # the emptied thinking is gone
    assert out["content"][0] == CALL
    assert out["content"][1]["id"].startswith("toolu_") and out["content"][1]["input"] == {}


@pytest.mark.parametrize("thinking", [
    'The schema is {"type": "object"} and [1, 2] is a list; {not json',
    "no json at all",
    '{"type": "tool_use"}',  # no name: not a call
])
def test_thinking_without_tool_use_json_is_unchanged(thinking):
    body = response_with(thinking)
    assert PLUGIN.response(x_of(), copy.deepcopy(body)) == body


def test_a_call_already_present_is_not_duplicated_and_other_stop_reasons_stay():
    body = response_with("x %s" % json.dumps(CALL), stop_reason="max_tokens", extra=[CALL])
    out = PLUGIN.response(x_of(), body)
    assert [b["type"] for b in out["content"]] == ["thinking", "tool_use"] and out["stop_reason"] == "max_tokens"


# ---- stream: a tool_use block opened inside a thinking block


def ev(obj):
    return SSEEvent(json.dumps(obj), obj["type"])


def start(index, block):
    return ev({"type": "content_block_start", "index": index, "content_block": block})


def delta(index, **d):
    return ev({"type": "content_block_delta", "index": index, "delta": d})


def stop(index):
    return ev({"type": "content_block_stop", "index": index})


HEAD = [ev({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "q",
                                                   "content": [], "stop_reason": None,
                                                   "usage": {"input_tokens": 3, "output_tokens": 1}}})]
TAIL = [ev({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}}),
        ev({"type": "message_stop"})]
THINK = {"type": "thinking", "thinking": "", "signature": ""}
TOOL = {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}}


def run(events, fmt="anthropic"):
    return list(PLUGIN.stream(SimpleNamespace(format=fmt, body={}, headers={}, path="/", meta={}), iter(events)))


def shape(events):
    out = []
    for e in events:
        d = json.loads(e.data)
        out.append((d["type"].replace("content_block_", ""), d.get("index")))
    return out


def test_a_nested_tool_use_is_re_emitted_whole_at_its_own_stop():
    body = [start(0, THINK), delta(0, type="thinking_delta", thinking="Let me "), start(1, TOOL),
            delta(1, type="input_json_delta", partial_json='{"path": '), delta(0, type="thinking_delta", thinking="read."),
            delta(1, type="input_json_delta", partial_json='"a.py"}'), stop(1), stop(0)]
    out = run(HEAD + body + TAIL)
    assert shape(out[1:-2]) == [("start", 0), ("delta", 0), ("delta", 0), ("start", 1), ("delta", 1), ("delta", 1),
                                ("stop", 1), ("stop", 0)]
    assert {id(e) for e in out} == {id(e) for e in HEAD + body + TAIL}  # re-ordered, not rewritten
    final = anthropic_final(out)
    assert final.content[0].thinking == "Let me read." and final.content[1].input == {"path": "a.py"}


def test_a_held_tool_use_is_closed_before_message_delta():
    body = [start(0, THINK), start(1, TOOL), delta(1, type="input_json_delta", partial_json="{}")]
    out = run(HEAD + body + TAIL)
    assert shape(out[1:]) == [("start", 0), ("start", 1), ("delta", 1), ("stop", 1), ("message_delta", None),
                              ("message_stop", None)]


def test_a_new_block_start_flushes_the_held_tool_use_first_to_keep_index_order():
    body = [start(0, THINK), start(1, TOOL), delta(1, type="input_json_delta", partial_json='{"path": '),
            stop(0), start(2, {"type": "text", "text": ""}), delta(1, type="input_json_delta", partial_json='"b"}'),
            delta(2, type="text_delta", text="ok"), stop(1), stop(2)]
    out = run(HEAD + body + TAIL)
    starts = [i for kind, i in shape(out) if kind == "start"]
    assert starts == [0, 1, 2]
    final = anthropic_final(out)
    assert (final.content[1].input, final.content[2].text) == ({"path": "b"}, "ok")


def test_tool_use_after_the_thinking_block_closed_passes_untouched():
    body = [start(0, THINK), delta(0, type="thinking_delta", thinking="hm"), stop(0), start(1, TOOL),
            delta(1, type="input_json_delta", partial_json="{}"), stop(1)]
    events = HEAD + body + TAIL
    out = run(events)
    assert len(out) == len(events) and all(a is b for a, b in zip(out, events))


def test_a_stream_cut_while_holding_still_yields_what_it_held():
    events = HEAD + [start(0, THINK), start(1, TOOL), delta(1, type="input_json_delta", partial_json="{")]
    assert shape(run(events)) == [("message_start", None), ("start", 0), ("start", 1), ("delta", 1)]


def test_other_formats_and_non_json_data_pass_through():
    events = [SSEEvent("[DONE]"), start(0, THINK), start(1, TOOL)]
    assert run(events, "openai") == events
    out = run([SSEEvent("[DONE]")])
    assert out[0].data == "[DONE]"


def anthropic_final(events):
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    raw = b"".join(e.encode() for e in events)
    transport = httpx2.MockTransport(lambda request: httpx2.Response(
        200, content=raw, headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(base_url="http://t.test", api_key="k", max_retries=0,
                                 http_client=httpx2.Client(transport=transport))
    with client.messages.stream(model="m", max_tokens=9, messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_message()
