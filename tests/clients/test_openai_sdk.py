"""The openai SDK (Chat Completions) through the gateway to a same-format stub upstream."""
import json
import urllib.request

import openai
import pytest
from pydantic import BaseModel

from tests.clients import canned


class GetWeather(BaseModel):
    city: str


def _client(gateway, key="sk-client"):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


def test_non_stream_text_and_model_rewrite_keep_every_other_byte(gateway, upstream):
    upstream.enqueue(200, canned.OPENAI_TEXT, [("x-request-id", "req_123")])
    raw = b'{"model": "my-gpt",  "messages": [{"role": "user", "content": "hi"}], "temperature": 1.0}'
    req = urllib.request.Request(gateway.url + "/v1/chat/completions", data=raw,
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer sk-client"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
        assert resp.headers["x-request-id"] == "req_123"
        assert float(resp.headers["x-tresor-overhead-ms"]) >= 0
    assert json.loads(body) == canned.OPENAI_TEXT
    sent = upstream.requests[-1]
    assert sent["body"] == raw.replace(b'"my-gpt"', b'"gpt-x"')
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-upstream-oa"  # client key stripped, ours injected
    assert sent["headers"]["accept-encoding"] == "identity"


def test_sdk_non_stream(gateway, upstream):
    upstream.enqueue(200, canned.OPENAI_TEXT)
    result = _client(gateway).chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "hi"}])
    assert result.choices[0].message.content == "Hello from upstream"
    assert result.usage.prompt_tokens == 5


def test_stream_bytes_are_identical_to_upstream(gateway, upstream):
    upstream.enqueue(200, canned.OPENAI_STREAM)
    req = urllib.request.Request(gateway.url + "/v1/chat/completions", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"model": "gpt-x", "stream": True, "messages": []}).encode())
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.read() == "".join(canned.OPENAI_STREAM).encode()
        assert resp.headers["Content-Type"].startswith("text/event-stream")


def test_sdk_stream_text_with_usage(gateway, upstream):
    upstream.enqueue(200, canned.OPENAI_STREAM)
    with _client(gateway).chat.completions.stream(model="gpt-x", messages=[{"role": "user", "content": "hi"}],
                                                  stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello world"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage.completion_tokens == 2


def test_sdk_stream_tool_call(gateway, upstream):
    upstream.enqueue(200, canned.OPENAI_TOOL_STREAM)
    with _client(gateway).chat.completions.stream(
            model="gpt-x", messages=[{"role": "user", "content": "weather?"}],
            tools=[openai.pydantic_function_tool(GetWeather, name="get_weather")]) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, call.function.parsed_arguments.city) == ("call_1", "get_weather", "Paris")
    assert final.choices[0].finish_reason == "tool_calls"


def test_models_list_comes_from_the_routing_table(gateway):
    ids = [m.id for m in _client(gateway).models.list()]
    assert ids == sorted(ids) and {"gpt-x", "claude-x", "gemini-x", "resp-x", "my-gpt"} <= set(ids)
    assert _client(gateway).models.retrieve("gpt-x").owned_by == "oa"
    with pytest.raises(openai.NotFoundError):
        _client(gateway).models.retrieve("nope")


def test_unknown_model_is_404_naming_the_model(gateway):
    with pytest.raises(openai.NotFoundError) as info:
        _client(gateway).chat.completions.create(model="who", messages=[{"role": "user", "content": "hi"}])
    assert 'unknown model "who"' in info.value.message


@pytest.mark.parametrize("status, error_class", [(429, openai.RateLimitError), (500, openai.InternalServerError),
                                                 (400, openai.BadRequestError)])
def test_upstream_errors_are_relayed_with_status_and_sdk_class(gateway, upstream, status, error_class):
    upstream.enqueue(status, {"error": {"message": "upstream says no", "type": "x", "code": "c"}},
                     [("x-request-id", "req_9")])
    with pytest.raises(error_class) as info:
        _client(gateway).chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == status and "upstream says no" in info.value.message
    assert info.value.request_id == "req_9"


def test_wrong_proxy_key_is_401(make_gateway):
    gateway = make_gateway("proxy_api_keys: [right-key]\n")
    with pytest.raises(openai.AuthenticationError):
        _client(gateway, key="wrong").chat.completions.create(model="gpt-x", messages=[])
