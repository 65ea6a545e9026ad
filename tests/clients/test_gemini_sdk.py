"""google-genai through the gateway to a same-format stub upstream; /v1beta and /v1 paths."""
import pytest
from google import genai
from google.genai import errors, types

from tests.clients import canned


_KEEP = []


def _client(gateway, version="v1beta", key="dummy"):
    # genai.Client closes its HTTP client when garbage-collected, and `_client(g).models.x()` would
    # drop the last reference before the call; keep clients alive for the test session.
    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url, api_version=version))
    _KEEP.append(client)
    return client


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_generate_content_and_alias_rewrites_the_url_model(gateway, upstream, version):
    upstream.enqueue(200, canned.GEMINI_TEXT)
    result = _client(gateway, version).models.generate_content(model="my-gemini", contents="hi")
    assert result.text == "Hello from upstream"
    sent = upstream.requests[-1]
    assert sent["path"] == "/%s/models/gemini-x:generateContent" % version
    assert sent["headers"]["x-goog-api-key"] == "upstream-gem"


def test_stream_text(gateway, upstream):
    upstream.enqueue(200, canned.GEMINI_STREAM)
    chunks = list(_client(gateway).models.generate_content_stream(model="gemini-x", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == "Hello world"
    assert chunks[-1].usage_metadata.candidates_token_count == 2
    assert upstream.requests[-1]["path"] == "/v1beta/models/gemini-x:streamGenerateContent?alt=sse"


def test_stream_tool_call(gateway, upstream):
    upstream.enqueue(200, canned.GEMINI_TOOL_STREAM)
    chunks = list(_client(gateway).models.generate_content_stream(model="gemini-x", contents="weather?"))
    call = chunks[0].function_calls[0]
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})


def test_count_tokens_is_forwarded(gateway, upstream):
    upstream.enqueue(200, {"totalTokens": 11})
    assert _client(gateway).models.count_tokens(model="gemini-x", contents="hi").total_tokens == 11


def test_models_list_in_gemini_shape(gateway):
    names = [m.name for m in _client(gateway).models.list()]
    assert "models/gemini-x" in names and "models/my-gemini" in names


def test_upstream_429_raises_client_error(gateway, upstream):
    upstream.enqueue(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    with pytest.raises(errors.ClientError) as info:
        _client(gateway).models.generate_content(model="gemini-x", contents="hi")
    assert info.value.code == 429


def test_key_in_query_string_is_accepted_and_stripped(make_gateway, upstream):
    import urllib.request
    gateway = make_gateway("proxy_api_keys: [right-key]\n")
    upstream.enqueue(200, canned.GEMINI_TEXT)
    req = urllib.request.Request(gateway.url + "/v1beta/models/gemini-x:generateContent?key=right-key",
                                 data=b'{"contents": []}', headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    assert "key=" not in upstream.requests[-1]["path"]


def test_wrong_key_is_401(make_gateway):
    gateway = make_gateway("proxy_api_keys: [right-key]\n")
    with pytest.raises(errors.ClientError) as info:
        _client(gateway, key="wrong").models.generate_content(model="gemini-x", contents="hi")
    assert info.value.code == 401
