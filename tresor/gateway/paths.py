"""Which endpoint a gateway path is: client format, kind, and the model / stream flag in Gemini URLs.

Pure function of method + path (query strings are split off before). See SPEC §1 and reference §3.2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote

GENERATE, COUNT_TOKENS, LIST_MODELS, GET_MODEL, PASSTHROUGH = (
    "generate", "count_tokens", "list_models", "get_model", "passthrough")

_FIXED = {
    "/v1/chat/completions": ("openai", GENERATE),
    "/chat/completions": ("openai", GENERATE),
    "/v1/responses": ("openai_responses", GENERATE),
    "/responses": ("openai_responses", GENERATE),
    "/v1/responses/input_tokens": ("openai_responses", COUNT_TOKENS),
    "/v1/messages": ("anthropic", GENERATE),
    "/messages": ("anthropic", GENERATE),
    "/v1/messages/count_tokens": ("anthropic", COUNT_TOKENS),
    "/messages/count_tokens": ("anthropic", COUNT_TOKENS),
}
_GEMINI_ACTIONS = {
    "generateContent": (GENERATE, False),
    "streamGenerateContent": (GENERATE, True),
    "countTokens": (COUNT_TOKENS, False),
}
_GEMINI_PREFIXES = ("/v1beta/models/", "/v1/models/", "/v1alpha/models/")
# Other OpenAI-style endpoints are forwarded untouched to the resolved downstream (reference §3.2).
_PASSTHROUGH_PREFIXES = ("/v1/", "/embeddings", "/completions")

USAGE_HINT = ("Tresor serves POST /v1/chat/completions, /v1/responses, /v1/messages, "
              "/v1beta/models/{model}:generateContent and GET /v1/models")


@dataclass(frozen=True)
class Endpoint:
    """A classified gateway path. `format` is None for passthrough endpoints of unknown format."""

    kind: str
    format: Optional[str]
    model: str = ""           # Gemini: the model id from the URL
    is_stream: bool = False   # Gemini: streamGenerateContent
    action: str = ""          # Gemini: the action after ':'


def classify(method: str, path: str) -> Optional[Endpoint]:
    """Return the Endpoint for `path`, or None when it is not an LLM path (-> 404)."""
    fixed = _FIXED.get(path.rstrip("/") if len(path) > 1 else path)
    if fixed:
        return Endpoint(fixed[1], fixed[0])
    if path in ("/v1/models", "/models", "/v1beta/models", "/v1/models/", "/v1beta/models/"):
        return Endpoint(LIST_MODELS, "gemini" if path.startswith("/v1beta") else "openai")
    for prefix in _GEMINI_PREFIXES:
        if path.startswith(prefix):
            return _classify_model_path(method, path, prefix)
    if path.startswith(_PASSTHROUGH_PREFIXES):
        return Endpoint(PASSTHROUGH, None)
    return None


def _classify_model_path(method: str, path: str, prefix: str) -> Optional[Endpoint]:
    rest = unquote(path[len(prefix):])
    model, sep, action = rest.rpartition(":")
    # Only a known action is split off, so model ids with colons (qwen3.5:9b) survive (reference §3.5).
    if sep and action in _GEMINI_ACTIONS:
        kind, is_stream = _GEMINI_ACTIONS[action]
        return Endpoint(kind, "gemini", model, is_stream, action)
    if method in ("GET", "HEAD") and rest:
        return Endpoint(GET_MODEL, "gemini" if prefix != "/v1/models/" else "openai", rest)
    if sep and prefix == "/v1/models/":  # an unknown action on /v1/models/…: not ours to guess
        return Endpoint(PASSTHROUGH, None)
    return Endpoint(PASSTHROUGH, "gemini" if prefix != "/v1/models/" else None, rest, False, action if sep else "")
