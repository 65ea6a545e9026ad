"""Every client format against every downstream format, through the real SDKs and the real gateway.

16 (client, downstream) pairs x the scenarios of scenarios.py x {stream, non-stream}. The stub
upstream speaks exactly one format (answers rendered by that format's module, stubs.py); the client
is the real SDK with its strict stream helpers (drivers.py). Each case asserts what the client got
(text, tool calls, stop reason, usage, reasoning) and what the upstream received (path, credential
header, system prompt, user text, images, tool schema, the previous call and its result).
Ids read `<client>-><downstream>-<scenario>-<stream|nonstream>`.
"""
import json
import urllib.request

import pytest

from tests.translation import samples, stubs
from tests.translation import scenarios as sc

# Known translation bugs (reported, not fixed here): case id -> what goes wrong.
KNOWN_BUGS = {}


def _param(client, downstream, name, is_stream, with_name=True):
    case_id = "%s->%s-%s-%s" % (client, downstream, name, "stream" if is_stream else "nonstream")
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case_id])] if case_id in KNOWN_BUGS else []
    values = (client, downstream, name, is_stream) if with_name else (client, downstream, is_stream)
    return pytest.param(*values, id=case_id, marks=marks)


def _cases():
    return [_param(client, downstream, name, is_stream) for client in sc.FORMATS for downstream in sc.FORMATS
            for name in sc.SCENARIOS for is_stream in (True, False)]


def _check_answer(client, downstream, driver, scenario, result):
    assert result.text == scenario.text
    # Every client format has a place for reasoning: it arrives there, never merged into the text.
    assert result.reasoning == scenario.reasoning
    want = [(name, args) for _, name, args in scenario.calls]
    assert [(name, args) for _, name, args in result.calls] == want
    ids = [call_id for call_id, _, _ in result.calls]
    if client != "gemini":  # a Gemini client gets calls without ids (its format need not have them)
        assert all(ids) and len(set(ids)) == len(ids), ids
    if "gemini" not in (client, downstream):  # both formats carry ids: the upstream's ids survive
        assert ids == [call_id for call_id, _, _ in scenario.calls]
    assert result.stop == driver.STOP["tool_use" if scenario.calls else "end"]
    assert result.usage == scenario.usage


@pytest.mark.parametrize("client, downstream, name, is_stream", _cases())
def test_client_gets_the_downstream_answer(matrix, client, downstream, name, is_stream):
    scenario, driver = sc.SCENARIOS[name], matrix.drivers[client]
    matrix.reset()
    status, body = stubs.answer(downstream, scenario, is_stream)
    matrix.upstream.enqueue(status, body)
    if scenario.is_error:
        with pytest.raises(driver.RATE_LIMIT) as info:
            driver.call(sc.MODELS[downstream], scenario, is_stream)
        assert _status(info.value) == 429
        stubs.check_transport(downstream, matrix.upstream.requests[-1], is_stream)
        return
    result = driver.call(sc.MODELS[downstream], scenario, is_stream)
    assert len(matrix.upstream.requests) == 1
    stubs.check_request(client, downstream, scenario, matrix.upstream.requests[-1], is_stream)
    _check_answer(client, downstream, driver, scenario, result)


def _status(error):
    return getattr(error, "status_code", None) or getattr(error, "code", None)


def _pairs(name, streams=(True,)):
    return [_param(client, downstream, name, is_stream, with_name=False) for client in sc.FORMATS
            for downstream in sc.FORMATS for is_stream in streams]


# The native samples' answer: signed reasoning, text, two parallel calls, usage with cache + reasoning.
NATIVE_CALLS = [("get_weather", {"city": "Paris", "day": "tomorrow"}), ("get_time", samples.ARGS_2)]
NATIVE_IDS = {"anthropic": ["toolu_11", "toolu_12"], "openai": ["call_11", "call_12"],
              "openai_responses": ["call_11", "call_12"]}


@pytest.mark.parametrize("client, downstream, is_stream", _pairs("native", (True, False)))
def test_native_answer_reaches_the_client(matrix, client, downstream, is_stream):
    # Answers written as each API sends them (not rendered by Tresor): thinking signatures, redacted
    # thinking, thoughtSignature, encrypted_content, cache + reasoning token counts.
    driver = matrix.drivers[client]
    matrix.reset()
    native = [e.encode() for e in samples.STREAMS[downstream]()] if is_stream else samples.RESPONSES[downstream]
    matrix.upstream.enqueue(200, native)
    result = driver.call(sc.MODELS[downstream], sc.NATIVE, is_stream)
    stubs.check_transport(downstream, matrix.upstream.requests[-1], is_stream)
    request = stubs.parsed(downstream, matrix.upstream.requests[-1], is_stream)
    tools = [(t.name, t.parameters) for t in request.tools]
    assert tools == [(sc.TOOL_NAME, sc.SCHEMA), (sc.TIME_TOOL, sc.TIME_SCHEMA)]
    assert (result.text, result.reasoning) == (samples.ANSWER_TEXT, samples.ANSWER_THOUGHT)
    assert [(name, args) for _, name, args in result.calls] == NATIVE_CALLS
    if client != "gemini" and downstream != "gemini":
        assert [call_id for call_id, _, _ in result.calls] == NATIVE_IDS[downstream]
    assert result.stop == driver.STOP["tool_use"] and result.usage == (150, 50)


@pytest.mark.parametrize("client, downstream, is_stream", _pairs("error_after_text"))
def test_error_after_text_reaches_the_client_as_its_stream_error(matrix, client, downstream, is_stream):
    driver = matrix.drivers[client]
    matrix.reset()
    matrix.upstream.enqueue(200, stubs.broken_stream(downstream))
    text, error = driver.call_broken(sc.MODELS[downstream])
    assert text == sc.MID_STREAM_TEXT
    assert isinstance(error, driver.ERROR), repr(error)
    assert "overloaded" in str(error)


@pytest.mark.parametrize("downstream", sc.FORMATS)
def test_chat_stream_ends_with_one_done_line(matrix, downstream):
    # The openai SDK does not require [DONE]; other Chat clients do, so check the raw body.
    matrix.reset()
    matrix.upstream.enqueue(*stubs.answer(downstream, sc.SCENARIOS["tool_call"], True))
    body = json.dumps({"model": sc.MODELS[downstream], "stream": True,
                       "messages": [{"role": "system", "content": sc.SYSTEM}, {"role": "user", "content": sc.USER}]})
    request = urllib.request.Request(matrix.gateway.url + "/v1/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer sk"})
    with urllib.request.urlopen(request, timeout=20) as response:
        raw = response.read().decode("utf-8")
    assert raw.endswith("data: [DONE]\n\n") and raw.count("data: [DONE]") == 1, raw[-300:]
    chunks = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    calls = [d for c in chunks for ch in c["choices"] for d in ch["delta"].get("tool_calls") or []]
    assert calls and all("index" in d for d in calls)
