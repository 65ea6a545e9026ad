"""paths.classify: client format and endpoint kind from the path alone."""
import pytest

from tresor.gateway import paths


@pytest.mark.parametrize("method, path, kind, fmt, model, is_stream", [
    ("POST", "/v1/chat/completions", paths.GENERATE, "openai", "", False),
    ("POST", "/chat/completions", paths.GENERATE, "openai", "", False),
    ("POST", "/v1/responses", paths.GENERATE, "openai_responses", "", False),
    ("POST", "/v1/responses/input_tokens", paths.COUNT_TOKENS, "openai_responses", "", False),
    ("POST", "/v1/messages", paths.GENERATE, "anthropic", "", False),
    ("POST", "/v1/messages/count_tokens", paths.COUNT_TOKENS, "anthropic", "", False),
    ("POST", "/v1beta/models/gemini-2.5-flash:generateContent", paths.GENERATE, "gemini", "gemini-2.5-flash", False),
    ("POST", "/v1beta/models/g:streamGenerateContent", paths.GENERATE, "gemini", "g", True),
    ("POST", "/v1/models/g:streamGenerateContent", paths.GENERATE, "gemini", "g", True),
    ("POST", "/v1beta/models/qwen3.5:9b-mtp:instruct:countTokens", paths.COUNT_TOKENS, "gemini",
     "qwen3.5:9b-mtp:instruct", False),
    ("POST", "/v1beta/models/org/model:generateContent", paths.GENERATE, "gemini", "org/model", False),
    ("GET", "/v1/models", paths.LIST_MODELS, "openai", "", False),
    ("GET", "/models", paths.LIST_MODELS, "openai", "", False),
    ("GET", "/v1beta/models", paths.LIST_MODELS, "gemini", "", False),
    ("GET", "/v1/models/gpt-4o", paths.GET_MODEL, "openai", "gpt-4o", False),
    ("GET", "/v1beta/models/gemini-2.5-pro", paths.GET_MODEL, "gemini", "gemini-2.5-pro", False),
    ("POST", "/v1/embeddings", paths.PASSTHROUGH, None, "", False),
])
def test_classify(method, path, kind, fmt, model, is_stream):
    endpoint = paths.classify(method, path)
    assert (endpoint.kind, endpoint.format, endpoint.model, endpoint.is_stream) == (kind, fmt, model, is_stream)


@pytest.mark.parametrize("path", ["/", "/v2/chat", "/admin", "/favicon.ico", "/v1beta/other"])
def test_non_llm_paths_are_none(path):
    assert paths.classify("POST", path) is None
