"""openai_responses: requests, responses, usage, stop reasons and errors (streams: test_openai_responses_stream.py)."""
import copy
import glob
import json
import os

import pytest

from tresor.formats import ir
from tresor.formats import openai_responses as m

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "openai_responses")
F = "openai_responses"


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def names(pattern):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(FIXTURES, pattern)))


# -- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", names("request_*.json"))
def test_request_round_trip_is_exact(name):
    body = load(name)
    original = copy.deepcopy(body)
    out = m.render_request(m.parse_request(body))
    assert out == original
    assert list(out) == list(original)  # key order kept too
    assert body == original  # parse never mutates its input


@pytest.mark.parametrize("name", names("response_*.json"))
def test_response_round_trip_is_exact(name):
    body = load(name)
    assert m.render_response(m.parse_response(body), None) == load(name)


# -- parse_request ------------------------------------------------------------------------------

def test_parse_codex_request_hoists_leading_developer_items_into_system():
    req = m.parse_request(load("request_codex.json"))
    assert req.model == "gpt-5.5-codex" and req.is_stream and req.is_usage_in_stream
    assert [p.text[:9] for p in req.system] == ["You are C", "<permissio"[:9]]
    assert [msg.role for msg in req.messages] == ["user", "assistant", "tool"]
    user, assistant, tool = req.messages
    assert [p.text[-22:] for p in user.parts] == ["</environment_context>", "What is in secret.txt?"]
    reasoning, text, call = assistant.parts
    assert isinstance(reasoning, ir.Reasoning) and reasoning.text.startswith("**Reading the file**")
    assert reasoning.extras[F]["item"]["encrypted_content"] == "gAAAAABpZ3x0ENCRYPTEDBLOB1=="
    assert text.text == "I'll read the file."
    assert (call.id, call.name) == ("call_K3yWf1", "exec_command")
    assert call.extras[F]["item"]["id"] == "fc_0a1b2e"
    assert call.arguments == '{"cmd":"cat secret.txt","workdir":"/home/me/project"}'
    result = tool.parts[0]
    assert (result.call_id, result.name, result.is_error) == ("call_K3yWf1", "exec_command", False)
    assert result.content[0].text.endswith("1\tsecret contents\n")


def test_parse_codex_request_keeps_hosted_tools_and_unknown_fields_in_extras():
    req = m.parse_request(load("request_codex.json"))
    assert [t.name for t in req.tools] == ["exec_command", "apply_patch"]
    assert req.tools[0].parameters["required"] == ["cmd"]
    x = req.extras[F]
    assert [(pos, tool["type"]) for pos, tool in x["opaque_tools"]] == [(1, "namespace"), (3, "web_search")]
    assert req.tool_choice == ir.ToolChoice("auto") and req.is_parallel_tool_calls is True
    assert req.reasoning == ir.ReasoningConfig(is_enabled=True, effort="medium", include_summary=True)
    assert req.response_format is None and x["text"] == {"verbosity": "low"}
    assert set(x["unknown"]) == {"store", "include", "prompt_cache_key", "client_metadata"}
    assert x["nulls"] == ["instructions"]  # rendered back as null


def test_parse_basic_request():
    req = m.parse_request(load("request_basic.json"))
    assert [p.text for p in req.system] == ["You are a terse assistant. Answer in one sentence."]
    assert len(req.messages) == 1 and req.messages[0].role == "user"
    assert req.messages[0].parts == [ir.Text("Tell me a three sentence bedtime story about a unicorn.")]
    assert (req.temperature, req.top_p, req.max_tokens) == (0.7, 0.9, 512)
    assert (req.metadata, req.user, req.is_stream) == ({"conversation": "bedtime-42"}, "user-1234", False)
    assert req.extras[F]["unknown"] == {"service_tier": "auto", "truncation": "disabled"}


def test_parse_multimodal_request():
    req = m.parse_request(load("request_multimodal.json"), is_stream=True)
    assert req.is_stream is True  # the argument wins over the body
    first = req.messages[0]
    text, url_image, data_image, pdf, pdf_url = first.parts
    assert url_image.url.endswith("boardwalk.jpg") and url_image.detail == "high" and url_image.data is None
    assert (data_image.media_type, data_image.data[:8], data_image.url) == ("image/png", "iVBORw0K", None)
    assert (pdf.media_type, pdf.name, pdf.data[:8]) == ("application/pdf", "report.pdf", "JVBERi0x")
    assert pdf_url.url == "https://www.berkshirehathaway.com/letters/2024ltr.pdf"
    assert first.extras[F]["opaque"] == [[3, {"type": "input_image", "file_id": "file-6F2ksmvXxt4VdoqmHRw6kL",
                                              "detail": "low"}]]
    assert [(msg.role, msg.parts[0].text) for msg in req.messages[1:]] == [
        ("assistant", "The first is a boardwalk, the second a single pixel."), ("user", "And the PDF?")]


def test_parse_tools_request_parallel_calls_and_results():
    req = m.parse_request(load("request_tools.json"))
    assert req.tool_choice == ir.ToolChoice("tool", "get_weather")
    assert req.tools[0].extras[F]["tool"]["strict"] is True
    user, assistant, tool = req.messages
    assert [(c.id, c.name) for c in assistant.parts] == [
        ("call_unLAR8MvFNptuiZK6K6HCy5k", "get_weather"), ("call_8EkvV3mBsH2cD9r4eJ1tQwZ0", "get_weather"),
        ("call_radar_01", "get_radar")]
    assert assistant.parts[2].arguments == '{"location":"Paris, France"}'  # object arguments: compact JSON
    results = tool.parts
    assert [r.name for r in results] == ["get_weather", "get_weather", "get_radar"]
    assert results[1].content == [ir.Text("Error: weather service timed out for Tokyo, Japan")]
    assert isinstance(results[2].content[1], ir.Image) and results[2].content[1].media_type == "image/jpeg"


def test_parse_structured_request_with_mid_conversation_system_and_opaque_items():
    req = m.parse_request(load("request_structured.json"))
    assert req.system == []  # the first item is an item_reference: nothing is leading any more
    assert [msg.role for msg in req.messages] == ["user", "system", "system"]
    assert req.messages[0].extras[F]["before_items"] == [{"type": "item_reference",
                                                         "id": "msg_67cb3252cfac8190865744873aada798"}]
    assert req.messages[1].parts == [ir.Text("From now on, answer in French.")]
    assert req.messages[1].extras[F]["item"]["role"] == "developer"
    assert req.extras[F]["trailing_items"][0]["type"] == "web_search_call"
    fmt = req.response_format
    assert (fmt.kind, fmt.name, fmt.is_strict, fmt.schema["required"]) == (
        "json_schema", "calendar_event", True, ["name", "date", "participants"])
    assert req.reasoning == ir.ReasoningConfig(is_enabled=True, effort="high", include_summary=True)
    assert req.tool_choice == ir.ToolChoice("required")
    assert req.extras[F]["unknown"]["previous_response_id"] == "resp_67cb32528d6881909eb2859a55e18a85"


@pytest.mark.parametrize("body", [
    {"model": "o3", "input": "q", "reasoning": {"effort": "low"}},
    {"model": "o3", "input": "q", "reasoning": {"summary": "none"}, "text": {"format": {"type": "json_object"}}},
    {"model": "o3", "input": [], "metadata": None, "tools": None, "stream": False, "tool_choice": "none"},
    {"model": "o3", "input": [{"type": "message", "role": "assistant", "content": []}]},
])
def test_small_request_round_trips(body):
    assert m.render_request(m.parse_request(body)) == body


def test_parse_accepts_easy_messages_and_chat_style_tools():
    req = m.parse_request({"model": "x", "input": [{"role": "user", "content": "hi"}],
                           "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})
    assert req.messages[0].parts == [ir.Text("hi")] and req.tools[0].name == "f"
    assert m.render_request(req)["tools"] == [{"type": "function", "function": {"name": "f", "parameters": {}}}]


# -- render_request from other families --------------------------------------------------------

def _foreign_request():
    return ir.Request(
        model="gpt-5", max_tokens=8, temperature=0.2, top_k=40, stop=["END"], is_stream=True,
        system=[ir.Text("You are Claude Code."), ir.Text("Be careful.")],
        messages=[
            ir.Message("user", [ir.Text("look"), ir.Image(media_type="image/png", data="AAAA"),
                                ir.Image(url="https://example.com/a.png")]),
            ir.Message("assistant", [ir.Reasoning("hmm", extras={"anthropic": {"signature": "sig"}}),
                                     ir.Text("Reading."), ir.ToolCall("toolu_01", "read", '{"path":"a"}'),
                                     ir.ToolCall("toolu_02", "read", "")]),
            ir.Message("user", [ir.ToolResult("toolu_01", [ir.Text("line1"), ir.Text("line2")]),
                                ir.ToolResult("toolu_02", [ir.Text("denied")], is_error=True),
                                ir.Text("continue")]),
            ir.Message("system", [ir.Text("Mid-conversation reminder.")]),
        ],
        tools=[ir.ToolSpec("read", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}),
               ir.ToolSpec("noop")],
        tool_choice=ir.ToolChoice("tool", "read"), is_parallel_tool_calls=False,
        reasoning=ir.ReasoningConfig(is_enabled=True, budget_tokens=31999),
        response_format=ir.ResponseFormat("json_schema", {"type": "object"}), metadata={"user_id": "u1"})


def test_render_foreign_request_body():
    req = _foreign_request()
    body = m.render_request(req)
    assert body["instructions"] == "You are Claude Code.\n\nBe careful."
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Reading.",
                                                               "annotations": []}]},
        {"type": "function_call", "call_id": "toolu_01", "name": "read", "arguments": '{"path":"a"}'},
        {"type": "function_call", "call_id": "toolu_02", "name": "read", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "toolu_01", "output": "line1\nline2"},
        {"type": "function_call_output", "call_id": "toolu_02", "output": "Error: denied"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "continue"}]},
        {"type": "message", "role": "system", "content": [{"type": "input_text",
                                                           "text": "Mid-conversation reminder."}]},
    ]
    assert body["tools"] == [
        {"type": "function", "name": "read", "description": "Read a file",
         "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}, "strict": False},
        {"type": "function", "name": "noop", "parameters": {"type": "object", "properties": {}}, "strict": False}]
    assert body["tool_choice"] == {"type": "function", "name": "read"}
    assert body["parallel_tool_calls"] is False and body["stream"] is True
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["text"] == {"format": {"type": "json_schema", "name": "response", "schema": {"type": "object"}}}
    assert body["metadata"] == {"user_id": "u1"}


def test_render_foreign_request_fits_the_api_and_reports_what_it_dropped():
    req = _foreign_request()
    body = m.render_request(req)
    assert body["max_output_tokens"] == 16  # the API's minimum
    assert "temperature" not in body and "top_k" not in body and "stop" not in body
    dropped = req.extras["_dropped"]
    assert "top_k" in dropped and "stop" in dropped and "temperature (the model reasons)" in dropped
    assert any("reasoning" in d for d in dropped)  # foreign reasoning is not valid Responses input


@pytest.mark.parametrize("config, expected", [
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=1024), {"effort": "low", "summary": "auto"}),
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=8192), {"effort": "medium", "summary": "auto"}),
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=8193), {"effort": "high", "summary": "auto"}),
    (ir.ReasoningConfig(effort="low"), {"effort": "low"}),
    (ir.ReasoningConfig(effort="minimal", include_summary=True), {"effort": "minimal", "summary": "auto"}),
    (ir.ReasoningConfig(is_enabled=False), None),
])
def test_render_reasoning_config(config, expected):
    body = m.render_request(ir.Request(model="o3", reasoning=config, messages=[ir.Message("user", [ir.Text("q")])]))
    assert body.get("reasoning") == expected


@pytest.mark.parametrize("choice, expected", [
    (ir.ToolChoice("auto"), "auto"), (ir.ToolChoice("none"), "none"), (ir.ToolChoice("required"), "required"),
    (ir.ToolChoice("tool", "f"), {"type": "function", "name": "f"}),
])
def test_render_tool_choice(choice, expected):
    body = m.render_request(ir.Request(model="x", tools=[ir.ToolSpec("f")], tool_choice=choice))
    assert body["tool_choice"] == expected


def test_string_input_renders_back_as_a_string_and_documents_as_files():
    req = m.parse_request({"model": "x", "input": "hello"})
    assert m.render_request(req) == {"model": "x", "input": "hello"}
    doc = ir.Request(model="x", messages=[ir.Message("user", [ir.Document("application/pdf", "JVBE", name="a.pdf"),
                                                              ir.Document(url="https://x/b.pdf")])])
    assert m.render_request(doc)["input"][0]["content"] == [
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
        {"type": "input_file", "file_url": "https://x/b.pdf"}]


# -- responses ----------------------------------------------------------------------------------

def test_parse_reasoning_response():
    resp = m.parse_response(load("response_reasoning.json"))
    assert resp.id == "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7"
    assert (resp.model, resp.created_s, resp.stop_reason) == ("o4-mini-2025-04-16", 1746989954, "end")
    reasoning, text = resp.parts
    assert reasoning.text == ("**Determining the capital**\n\nThe user asks for the capital of France, which is "
                              "well known.\n\n**Answering briefly**\n\nA one-word answer with a short sentence "
                              "is enough.")
    assert reasoning.extras[F]["item"]["encrypted_content"].startswith("gAAAAABoIPOH")
    assert text.text == "The capital of France is Paris."
    assert resp.usage == ir.Usage(input_tokens=2048, output_tokens=219, cache_read_tokens=1920, reasoning_tokens=192)


def test_parse_tool_call_refusal_and_hosted_tool_responses():
    calls = m.parse_response(load("response_tool_calls.json"))
    assert calls.stop_reason == "tool_use"
    assert [(p.id, p.arguments) for p in calls.parts] == [
        ("call_unLAR8MvFNptuiZK6K6HCy5k", '{"location":"Paris, France"}'),
        ("call_8EkvV3mBsH2cD9r4eJ1tQwZ0", '{"location":"Tokyo, Japan"}')]
    refusal = m.parse_response(load("response_refusal.json"))
    assert refusal.parts == [ir.Refusal("I'm sorry, I can't help with that.", refusal.parts[0].extras)]
    search = m.parse_response(load("response_web_search.json"))
    assert search.parts[0].extras[F]["before_items"][0]["type"] == "web_search_call"
    assert search.usage.cache_creation_tokens == 64 and search.usage.cache_read_tokens == 256
    assert m.parse_response(load("response_incomplete.json")).stop_reason == "max_tokens"


@pytest.mark.parametrize("status, reason, output, expected", [
    ("completed", None, [], "end"),
    ("completed", None, [{"type": "function_call"}], "tool_use"),
    ("incomplete", "max_output_tokens", [], "max_tokens"),
    ("incomplete", "content_filter", [], "content_filter"),
    ("incomplete", "something_new", [], "max_tokens"),
    ("failed", None, [], "error"),
    ("cancelled", None, [], "error"),
    ("in_progress", None, [], None),
])
def test_stop_reason_from_status(status, reason, output, expected):
    body = {"status": status, "incomplete_details": {"reason": reason} if reason else None, "output": output}
    assert m.parse_response(body).stop_reason == expected


@pytest.mark.parametrize("stop, status, details", [
    ("end", "completed", None), ("tool_use", "completed", None), ("stop_sequence", "completed", None),
    (None, "completed", None), ("max_tokens", "incomplete", {"reason": "max_output_tokens"}),
    ("content_filter", "incomplete", {"reason": "content_filter"}), ("error", "failed", None),
])
def test_stop_reason_to_status(stop, status, details):
    out = m.render_response(ir.Response(id="r", parts=[ir.Text("x")], stop_reason=stop), None)
    assert (out["status"], out["incomplete_details"]) == (status, details)
    assert (out["error"] is not None) == (status == "failed")
    assert out["output"][0]["status"] == ("incomplete" if status == "incomplete" else "completed")


def test_render_foreign_response_echoes_the_request():
    req = m.parse_request(load("request_tools.json"))
    resp = ir.Response(id="msg_01XYZ", model="claude-sonnet", created_s=1700000000, stop_reason="tool_use",
                       parts=[ir.Reasoning("thinking", extras={"anthropic": {"signature": "s"}}), ir.Text("Let me check."),
                              ir.ToolCall("toolu_1", "get_weather", '{"location":"Paris"}')],
                       usage=ir.Usage(input_tokens=120, output_tokens=30, cache_read_tokens=100))
    out = m.render_response(resp, req)
    assert (out["id"], out["object"], out["created_at"], out["model"]) == (
        "resp_msg_01XYZ", "response", 1700000000, "claude-sonnet")
    assert out["output"] == [
        {"id": "rs_msg_01XYZ_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"id": "msg_msg_01XYZ_1", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Let me check."}]},
        {"id": "fc_toolu_1", "type": "function_call", "status": "completed", "arguments": '{"location":"Paris"}',
         "call_id": "toolu_1", "name": "get_weather"}]
    assert out["usage"] == {"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 30,
                            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 150}
    assert out["instructions"] == "Use the tools when you need live data."
    assert out["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert [t["name"] for t in out["tools"]] == ["get_weather", "get_radar"]
    assert out["parallel_tool_calls"] is True and out["status"] == "completed"


def test_render_response_without_request_uses_api_defaults():
    out = m.render_response(ir.Response(parts=[ir.Text("hi")]), None)
    assert out["id"] == "resp_0" and out["model"] == "" and out["created_at"] == 0
    assert (out["tools"], out["tool_choice"], out["text"], out["metadata"]) == ([], "auto", {"format": {"type": "text"}}, {})
    assert out["usage"]["total_tokens"] == 0 and out["output"][0]["content"][0]["text"] == "hi"


# -- usage ----------------------------------------------------------------------------------------

USAGE = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40}, "output_tokens": 20,
         "output_tokens_details": {"reasoning_tokens": 8}, "total_tokens": 120}
USAGE_IR = ir.Usage(input_tokens=100, output_tokens=20, cache_read_tokens=40, reasoning_tokens=8)


@pytest.mark.parametrize("obj, expected", [
    ({"object": "response", "usage": USAGE}, USAGE_IR),
    ({"type": "response.completed", "response": {"usage": USAGE}}, USAGE_IR),
    (USAGE, USAGE_IR),
    ({"input_tokens": 5, "output_tokens": 1}, ir.Usage(input_tokens=5, output_tokens=1)),
    ({"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 3}, "output_tokens": 1},
     ir.Usage(input_tokens=5, output_tokens=1, cache_read_tokens=0, cache_creation_tokens=3)),
    ({"type": "response.created", "response": {"usage": None}}, None),
    ({"type": "response.output_text.delta", "delta": "x"}, None),
    (None, None), ("text", None),
])
def test_parse_usage(obj, expected):
    assert m.parse_usage(obj) == expected


def test_render_usage_always_has_integer_counts():
    out = m.render_response(ir.Response(usage=ir.Usage(cache_creation_tokens=7)), None)["usage"]
    assert out == {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 7},
                   "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 0}


# -- errors, count tokens, path -----------------------------------------------------------------

@pytest.mark.parametrize("status, body, message, kind, code", [
    (400, load("error_400.json"), "Invalid 'input[2].id': 'call_abc'. Expected an ID that begins with 'fc'.",
     "invalid_request_error", "invalid_value"),
    (429, load("error_429.json"), "You exceeded your current quota, please check your plan and billing details.",
     "insufficient_quota", "insufficient_quota"),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "Overloaded",
     "overloaded_error", None),
    (429, {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}, "Quota exceeded",
     "rate_limit_error", "RESOURCE_EXHAUSTED"),
    (502, "<html>Bad Gateway</html>", "<html>Bad Gateway</html>", "server_error", None),
    (502, b"upstream reset", "upstream reset", "server_error", None),
    (404, {"error": "model not found"}, "model not found", "not_found_error", None),
    (503, None, "upstream returned HTTP 503", "server_error", None),
])
def test_parse_error(status, body, message, kind, code):
    assert m.parse_error(status, body) == ir.Error(status, message, kind, code)


@pytest.mark.parametrize("name, status", [("error_400.json", 400), ("error_429.json", 429), ("error_401.json", 401)])
def test_error_envelope_round_trip(name, status):
    expected = load(name)
    expected["error"]["param"] = None  # ir.Error has no field for `param`: the one loss of this round trip
    assert m.render_error(m.parse_error(status, load(name))) == expected


@pytest.mark.parametrize("error, expected_type", [
    (ir.Error(400, "bad"), "invalid_request_error"), (ir.Error(401, "key"), "authentication_error"),
    (ir.Error(403, "no"), "permission_error"), (ir.Error(404, "none"), "not_found_error"),
    (ir.Error(429, "slow"), "rate_limit_error"), (ir.Error(500, "boom"), "server_error"),
    (ir.Error(529, "busy", "overloaded_error"), "server_error"), (ir.Error(429, "q", "RESOURCE_EXHAUSTED"), "rate_limit_error"),
    (ir.Error(429, "q", "rate_limit_error"), "rate_limit_error"), (ir.Error(400, "x", "invalid_request_error"),
                                                                  "invalid_request_error"),
])
def test_render_error_types(error, expected_type):
    assert m.render_error(error) == {"error": {"message": error.message, "type": expected_type, "param": None,
                                               "code": error.code}}


def test_render_stream_error_is_the_nested_error_event_with_flat_fields():
    event = m.render_stream_error(ir.Error(429, "Rate limit reached", "rate_limit_error", "rate_limit_exceeded"))
    assert event.event == "error"
    assert json.loads(event.data) == {
        "type": "error", "sequence_number": 0,
        "error": {"type": "rate_limit_error", "code": "rate_limit_exceeded", "message": "Rate limit reached",
                  "param": None},
        "code": "rate_limit_exceeded", "message": "Rate limit reached", "param": None}
    assert m.parse_error(200, json.loads(event.data)) == ir.Error(429, "Rate limit reached", "rate_limit_error",
                                                                   "rate_limit_exceeded")


def test_count_tokens_and_request_path():
    assert m.render_count_tokens(42) == {"object": "response.input_tokens", "input_tokens": 42}
    assert m.request_path("gpt-5", True) == ("/v1/responses", "") == m.request_path("gpt-5", False)
