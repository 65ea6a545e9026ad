"""The OpenAI Responses API format (`POST /v1/responses`), as used by Codex CLI and the openai SDK.

Implements formats.MODULE_API. The work is split by direction:
    items.py         items / content parts <-> IR parts (shared by the three below)
    request.py       request bodies                       parse_request, render_request
    response.py      response objects, usage, stop reasons parse_response, render_response, parse_usage
    stream_parse.py  SSE -> IR events                     parse_stream
    stream_render.py IR events -> SSE                     render_stream
    errors.py        error bodies and the in-stream error parse_error, render_error, render_stream_error

Ids: ir.ToolCall.id is the `call_id`; the item id (`fc_…`) stays in extras and is synthesised
(`fc_<call id>`) for calls from other families. Everything else the IR cannot hold is kept in
extras["openai_responses"]; see each module's docstring for what that is.
"""
from __future__ import annotations

from typing import Dict, Tuple

from tresor.formats.openai_responses.errors import parse_error, render_error, render_stream_error
from tresor.formats.openai_responses.request import parse_request, render_request
from tresor.formats.openai_responses.response import parse_response, parse_usage, render_response
from tresor.formats.openai_responses.stream_parse import parse_stream
from tresor.formats.openai_responses.stream_render import render_stream

__all__ = ["request_path", "parse_request", "render_request", "parse_response", "render_response", "parse_stream",
           "render_stream", "parse_error", "render_error", "render_stream_error", "parse_usage",
           "render_count_tokens"]


def request_path(model: str, is_stream: bool) -> Tuple[str, str]:
    """Where generation lives: one path for streaming and not (the body's `stream` decides)."""
    return "/v1/responses", ""


def render_count_tokens(count: int) -> Dict[str, object]:
    """The answer of `POST /v1/responses/input_tokens`."""
    return {"object": "response.input_tokens", "input_tokens": count}
