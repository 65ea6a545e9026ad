"""The four API formats and translation between them through the IR (formats/ir.py).

FORMATS maps each format id (== module name == config string) to its module. Every format
module exposes the same functions (tests/test_meta.py checks the list in MODULE_API):

    request_path(model, is_stream) -> (path, query)     where this format's generation endpoint lives
    parse_request(body, *, model="", is_stream=None) -> ir.Request
    render_request(request) -> dict                      wire body (Gemini: no model/stream; they go in the URL)
    parse_response(body) -> ir.Response
    render_response(response, request) -> dict
    parse_stream(events) -> Iterator[ir.StreamEvent]     events: Iterator[sse.SSEEvent]; a generator
    render_stream(events, request) -> Iterator[SSEEvent] events: Iterator[ir.StreamEvent]; a generator
    parse_error(status, body) -> ir.Error                body: parsed JSON or None
    render_error(error) -> dict                          the format's error envelope (status is error.status)
    render_stream_error(error) -> SSEEvent               the format's in-stream error event
    parse_usage(obj) -> Optional[ir.Usage]               usage of a response body or one stream event payload
    render_count_tokens(count) -> dict                   the format's token-count answer

Modules are pure: no sockets, sqlite, logging configuration or clock except what is passed in.
All per-stream state lives in generator locals (STYLE.md 4.2 rule 5).
"""
from __future__ import annotations

import importlib
FORMAT_IDS = ("openai", "openai_responses", "anthropic", "gemini")
MODULE_API = ("request_path", "parse_request", "render_request", "parse_response", "render_response",
              "parse_stream", "render_stream", "parse_error", "render_error", "render_stream_error",
              "parse_usage", "render_count_tokens")

def get(format_id: str):
    """The module for `format_id` (imported on first use to keep start-up fast); KeyError if unknown."""
    if format_id not in FORMAT_IDS:
        raise KeyError(format_id)
    return importlib.import_module("tresor.formats." + format_id)  # cached by sys.modules
