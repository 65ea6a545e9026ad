"""The openai SDK's Responses API through the gateway to a same-format stub upstream (base_url with /v1)."""
import openai
import pytest

from tests.clients import canned


def _client(gateway):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-client", max_retries=0)


def test_non_stream_text(gateway, upstream):
    upstream.enqueue(200, canned.RESPONSES_TEXT)
    assert _client(gateway).responses.create(model="resp-x", input="hi").output_text == "Hello from upstream"
    assert upstream.requests[-1]["path"] == "/v1/responses"  # base_url .../v1 is not doubled
    assert upstream.requests[-1]["headers"]["authorization"] == "Bearer sk-upstream-resp"


def test_stream_final_response(gateway, upstream):
    upstream.enqueue(200, canned.responses_stream())
    with _client(gateway).responses.stream(model="resp-x", input="hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Hello world" and final.usage.output_tokens == 3


def test_upstream_500_is_relayed(gateway, upstream):
    upstream.enqueue(500, {"error": {"message": "boom", "type": "server_error"}})
    with pytest.raises(openai.InternalServerError):
        _client(gateway).responses.create(model="resp-x", input="hi")
