"""The `gemini` format: Google Gemini generateContent / streamGenerateContent (google-genai, litellm).

A package because the format is large: request.py (bodies), response.py (answers, errors),
stream.py (SSE), parts.py (Part objects), wire.py (shared vocabulary). Imports only tresor.errors
and tresor.formats; the module API is documented in tresor/formats/__init__.py.
"""
from __future__ import annotations

from typing import Tuple

from tresor.formats.gemini.request import parse_request, render_request
from tresor.formats.gemini.response import (parse_error, parse_response, render_count_tokens, render_error,
                                            render_response, render_stream_error)
from tresor.formats.gemini.stream import parse_stream, render_stream
from tresor.formats.gemini.wire import parse_usage

__all__ = ["request_path", "parse_request", "render_request", "parse_response", "render_response",
           "parse_stream", "render_stream", "parse_error", "render_error", "render_stream_error",
           "parse_usage", "render_count_tokens"]


def request_path(model: str, is_stream: bool) -> Tuple[str, str]:
    """(path, query) of the generation endpoint: the model and the streaming flag live in the URL."""
    if model.startswith("models/"):
        model = model[len("models/"):]
    if is_stream:
        return "/v1beta/models/%s:streamGenerateContent" % model, "alt=sse"
    return "/v1beta/models/%s:generateContent" % model, ""
