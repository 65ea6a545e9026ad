"""The `anthropic` format: Anthropic Messages API (Claude Code, the anthropic SDKs).

Implements formats.MODULE_API over ir.py; extras["anthropic"] holds what the IR has no field for
(see blocks.py for the convention). Imports only tresor.errors and tresor.formats.
"""
from __future__ import annotations

from .request import parse_request, render_request, request_path
from .response import (parse_error, parse_response, parse_usage, render_count_tokens, render_error,
                       render_response)
from .stream import parse_stream, render_stream, render_stream_error

__all__ = ["request_path", "parse_request", "render_request", "parse_response", "render_response",
           "parse_stream", "render_stream", "parse_error", "render_error", "render_stream_error",
           "parse_usage", "render_count_tokens"]
