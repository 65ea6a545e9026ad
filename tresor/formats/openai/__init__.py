"""The OpenAI Chat Completions format (`openai`): wire JSON / SSE <-> IR (tresor/formats/ir.py).

Implements formats.MODULE_API; pure (imports only ir, sse and errors). Submodules: messages
(content parts, assistant turns), request, response (stop reasons, usage), stream, errors.
"""
from __future__ import annotations

from tresor.formats.openai.errors import parse_error, render_error, render_stream_error
from tresor.formats.openai.request import parse_request, render_request
from tresor.formats.openai.response import parse_response, parse_usage, render_response
from tresor.formats.openai.stream import parse_stream, render_stream

__all__ = ["request_path", "parse_request", "render_request", "parse_response", "render_response",
           "parse_stream", "render_stream", "parse_error", "render_error", "render_stream_error",
           "parse_usage", "render_count_tokens"]


def request_path(model: str, is_stream: bool):
    """(path, query) of the generation endpoint; model and stream travel in the body."""
    return "/v1/chat/completions", ""


def render_count_tokens(count: int) -> dict:
    """Chat Completions has no token-count endpoint; this mirrors Responses' answer shape."""
    return {"object": "input_tokens", "input_tokens": count}
