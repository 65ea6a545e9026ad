"""Per-downstream stub builders and checks of what the stub upstream received.

Answers are rendered with the downstream format's own module (render_response / render_stream /
render_error / render_stream_error), which the golden tests in tests/formats/ pin separately, so
the stub speaks each format as Tresor understands it. `check_request` parses what the upstream
received with the same module and asserts the scenario's request content arrived.
"""
from __future__ import annotations

import copy
import json
from typing import Any, List, Tuple

from tresor import formats
from tresor.formats import ir
from tresor.formats.sse import SSEEvent
from tests.translation import scenarios as sc

KEYS = {f: "key-up-" + f for f in sc.FORMATS}
RATE_LIMIT = ir.Error(429, "slow down, please", "rate_limit_error")


def config(url: str) -> str:
    """Gateway config text: one downstream per format, each speaking only that format."""
    rows = []
    for fmt in sc.FORMATS:
        rows.append("  - id: ds-%s\n    base_url: %s\n    api_key: %s\n    api_formats: [%s]\n"
                    "    output_model_ids: [%s]\n" % (fmt, url, KEYS[fmt], fmt, sc.MODELS[fmt]))
    return "downstreams:\n" + "".join(rows)


def _encode(events) -> List[bytes]:
    return [e.encode() if isinstance(e, SSEEvent) else e for e in events]


def answer(downstream: str, scenario: sc.Scenario, is_stream: bool) -> Tuple[int, Any]:
    """(status, body) for FakeUpstream.enqueue: the scenario's answer in the downstream's format."""
    module = formats.get(downstream)
    request = ir.Request(model=sc.MODELS[downstream], is_stream=is_stream, is_usage_in_stream=is_stream)
    if scenario.is_error:
        if is_stream:  # an HTTP 200 stream whose first event is the format's in-band error
            return 200, _encode([module.render_stream_error(RATE_LIMIT)])
        return 429, module.render_error(RATE_LIMIT)
    response = copy.deepcopy(scenario.answer)
    if is_stream:
        events = sc.stream_events(response, scenario.interleave)
        return 200, _encode(module.render_stream(iter(events), request))
    return 200, module.render_response(response, request)


def broken_stream(downstream: str) -> List[bytes]:
    """A 200 stream with some text, then the downstream format's in-stream error."""
    module = formats.get(downstream)
    request = ir.Request(model=sc.MODELS[downstream], is_stream=True, is_usage_in_stream=True)
    return _encode(module.render_stream(iter(sc.broken_stream_events()), request))


# ---- what the upstream received


def expected_path(downstream: str, is_stream: bool) -> str:
    if downstream == "gemini":
        action = "streamGenerateContent?alt=sse" if is_stream else "generateContent"
        return "/v1beta/models/%s:%s" % (sc.MODELS["gemini"], action)
    return {"openai": "/v1/chat/completions", "openai_responses": "/v1/responses",
            "anthropic": "/v1/messages"}[downstream]


def check_transport(downstream: str, sent: dict, is_stream: bool) -> None:
    """The path and the credential header are the downstream format's, with the downstream's key."""
    assert sent["path"] == expected_path(downstream, is_stream)
    headers = sent["headers"]
    if downstream == "anthropic":
        assert headers.get("x-api-key") == KEYS[downstream] and headers.get("anthropic-version")
        assert "authorization" not in headers
    elif downstream == "gemini":
        assert headers.get("x-goog-api-key") == KEYS[downstream] and "authorization" not in headers
    else:
        assert headers.get("authorization") == "Bearer " + KEYS[downstream]
        assert "x-api-key" not in headers and "x-goog-api-key" not in headers


def parsed(downstream: str, sent: dict, is_stream: bool) -> ir.Request:
    body = json.loads(sent["body"])
    return formats.get(downstream).parse_request(body, model=sc.MODELS[downstream], is_stream=is_stream)


def _texts(parts) -> str:
    return "\n".join(p.text for p in parts if isinstance(p, ir.Text))


def _parts(request: ir.Request, kind) -> list:
    return [p for m in request.messages for p in m.parts if isinstance(p, kind)]


def check_request(client: str, downstream: str, scenario: sc.Scenario, sent: dict, is_stream: bool) -> None:
    """The scenario's request content, parsed back from what the upstream received."""
    check_transport(downstream, sent, is_stream)
    request = parsed(downstream, sent, is_stream)
    assert sc.SYSTEM in _texts(request.system), request.system
    users = [m for m in request.messages if m.role == "user"]
    assert users and sc.USER in _texts(users[0].parts), request.messages
    if scenario.has_tools:
        assert [(t.name, t.description) for t in request.tools] == [(sc.TOOL_NAME, sc.TOOL_DESCRIPTION)]
        assert request.tools[0].parameters == sc.SCHEMA  # the JSON schema arrives intact
    if scenario.has_history:
        _check_history(client, downstream, request)
    if scenario.has_images:
        images = _parts(request, ir.Image)
        assert [i.url for i in images if i.data is None] == [sc.IMAGE_URL], images
        assert [(i.media_type, i.data) for i in images if i.data is not None] == [("image/png", sc.PNG_B64)], images
    if scenario.has_reasoning:
        config = request.reasoning
        assert config is not None and config.is_enabled is not False, config
        assert config.budget_tokens or config.effort, config


def _check_history(client: str, downstream: str, request: ir.Request) -> None:
    calls, results = _parts(request, ir.ToolCall), _parts(request, ir.ToolResult)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [(sc.TOOL_NAME, sc.CALL_ARGS)], calls
    assert len(results) == 1 and _texts(results[0].content) == sc.RESULT_TEXT, results
    assert results[0].call_id == calls[0].id and not results[0].is_error
    if "gemini" not in (client, downstream):  # Gemini has no call ids: Tresor synthesises them
        assert calls[0].id == sc.CALL_ID
    order = [m.role for m in request.messages]
    assert order.index("assistant") < max(i for i, m in enumerate(request.messages)
                                           if any(isinstance(p, ir.ToolResult) for p in m.parts)), order
