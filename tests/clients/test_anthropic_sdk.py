"""The anthropic SDK (Messages) through the gateway to a same-format stub upstream."""
import json
import threading
import urllib.request

import anthropic
import pytest

from tests.clients import canned

MSGS = [{"role": "user", "content": "hi"}]


def _client(gateway, key="sk-ant-client"):
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)


def test_non_stream_text(gateway, upstream):
    upstream.enqueue(200, canned.ANTHROPIC_TEXT, [("request-id", "req_a")])
    message = _client(gateway).messages.create(model="claude-x", max_tokens=64, messages=MSGS)
    assert message.content[0].text == "Hello from upstream" and message.stop_reason == "end_turn"
    sent = upstream.requests[-1]
    assert sent["headers"]["x-api-key"] == "sk-upstream-ant" and sent["path"] == "/v1/messages"
    assert sent["headers"]["anthropic-version"]  # the client's own version is forwarded, not replaced


def test_stream_text_accumulates(gateway, upstream):
    upstream.enqueue(200, canned.anthropic_stream())
    with _client(gateway).messages.stream(model="claude-x", max_tokens=64, messages=MSGS) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello world" and final.stop_reason == "end_turn" and final.usage.output_tokens == 7


def test_stream_tool_call(gateway, upstream):
    upstream.enqueue(200, canned.ANTHROPIC_TOOL_STREAM)
    tools = [{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}]
    with _client(gateway).messages.stream(model="claude-x", max_tokens=64, messages=MSGS, tools=tools) as stream:
        final = stream.get_final_message()
    assert final.content[0].input == {"city": "Paris"} and final.stop_reason == "tool_use"


def test_count_tokens_is_forwarded_with_query_string(gateway, upstream):
    upstream.enqueue(200, {"input_tokens": 42})
    assert _client(gateway).messages.count_tokens(model="claude-x", messages=MSGS).input_tokens == 42
    assert upstream.requests[-1]["path"] == "/v1/messages/count_tokens"


@pytest.mark.parametrize("status, kind, error_class", [
    (529, "overloaded_error", anthropic.InternalServerError), (429, "rate_limit_error", anthropic.RateLimitError)])
def test_upstream_errors_keep_status_and_class(gateway, upstream, status, kind, error_class):
    upstream.enqueue(status, {"type": "error", "error": {"type": kind, "message": "busy"}})
    with pytest.raises(error_class) as info:
        _client(gateway).messages.create(model="claude-x", max_tokens=64, messages=MSGS)
    assert info.value.status_code == status


def test_unknown_model_is_404_in_anthropic_shape(gateway):
    with pytest.raises(anthropic.NotFoundError) as info:
        _client(gateway).messages.create(model="nope", max_tokens=64, messages=MSGS)
    assert info.value.body["type"] == "error" and "nope" in info.value.body["error"]["message"]


def test_error_event_before_content_becomes_a_real_status(gateway, upstream):
    upstream.enqueue(200, [": keep-alive\n\n", canned.sse("error", {"type": "error", "error": {
        "type": "overloaded_error", "message": "Overloaded"}})])
    with pytest.raises(anthropic.APIStatusError) as info:
        _client(gateway).messages.create(model="claude-x", max_tokens=64, messages=MSGS, stream=True)
    assert info.value.status_code == 529


def test_wrong_proxy_key_is_401_in_anthropic_shape(make_gateway):
    gateway = make_gateway("proxy_api_keys: [right-key]\n")
    with pytest.raises(anthropic.AuthenticationError):
        _client(gateway, key="wrong").messages.create(model="claude-x", max_tokens=64, messages=MSGS)


def test_translated_stream_gets_pings_during_upstream_silence(gateway, upstream):
    gateway.app.engine.ping_interval_s = 0.1
    upstream.gate.clear()
    threading.Timer(0.45, upstream.gate.set).start()
    upstream.enqueue(200, canned.OPENAI_STREAM, hold_after=2)
    body = json.dumps({"model": "gpt-x", "max_tokens": 64, "stream": True, "messages": MSGS}).encode()
    req = urllib.request.Request(gateway.url + "/v1/messages", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read().decode()
    assert raw.count("event: ping") >= 2
    events = [line[7:] for line in raw.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
