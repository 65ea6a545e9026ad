"""OpenAI Chat Completions format: requests, responses, usage, stop reasons, errors.

Golden fixtures live in tests/fixtures/openai/. Streams are in test_openai_stream.py.
"""
import copy
import json
import os

import pytest

from tresor.errors import ClientError
from tresor.formats import MODULE_API, get, ir

oa = get("openai")
FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "openai")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def names(prefix):
    return sorted(n for n in os.listdir(FIXTURES) if n.startswith(prefix) and n.endswith(".json"))


def dropped(request):
    return request.extras.get("_dropped", [])


def test_module_implements_the_whole_api():
    assert [name for name in MODULE_API if not callable(getattr(oa, name, None))] == []
    assert oa.request_path("gpt-4o", True) == ("/v1/chat/completions", "")
    assert oa.render_count_tokens(42) == {"object": "input_tokens", "input_tokens": 42}


# ---- requests: same-family round trip --------------------------------------------------------

@pytest.mark.parametrize("name", names("request_"))
def test_request_round_trip_is_exact(name):
    body = load(name)
    original = copy.deepcopy(body)
    out = oa.render_request(oa.parse_request(body))
    assert body == original, "parse_request must not mutate the body"
    assert out == body
    assert list(out) == list(body), "top-level key order is preserved"


def test_request_edits_to_the_ir_win_over_the_template():
    req = oa.parse_request(load("request_tools.json"))
    req.model, req.max_tokens, req.tool_choice = "gpt-x", 99, ir.ToolChoice("none")
    req.messages[0].parts[0].text = "Weather in Paris?"
    out = oa.render_request(req)
    assert (out["model"], out["max_tokens"], out["tool_choice"]) == ("gpt-x", 99, "none")
    assert out["messages"][1] == {"role": "user", "content": "Weather in Paris?"}
    assert out["tools"][2]["type"] == "custom", "opaque tools keep their position"


# ---- requests: parsed values -------------------------------------------------------------------

def test_parse_request_basic():
    req = oa.parse_request(load("request_basic.json"))
    assert req.model == "gpt-4o-mini"
    assert [p.text for p in req.system] == ["You are a terse assistant."]
    assert [m.role for m in req.messages] == ["user", "assistant", "user"]
    assert req.messages[1].parts == [ir.Text("Paris.")]
    assert (req.temperature, req.top_p, req.max_tokens) == (0.2, 0.9, 256)
    assert req.stop == ["\n\n"] and req.user == "user-1234"
    assert req.is_stream is False and req.extras["openai"].get("unknown") is None


def test_parse_request_developer_and_system_messages():
    req = oa.parse_request(load("request_developer.json"))
    assert [p.text for p in req.system] == [
        "Formatting re-enabled. Answer in Markdown.", "You help with code.", "Prefer Python."]
    mid = req.messages[2]
    assert mid.role == "system" and mid.parts[0].text == "From now on answer in French."
    assert mid.extras["openai"]["raw"]["role"] == "developer"
    assert req.max_tokens == 4096 and req.extras["openai"]["max_tokens_key"] == "max_completion_tokens"
    assert req.reasoning == ir.ReasoningConfig(is_enabled=True, effort="high")
    assert req.seed == 42 and req.metadata == {"session": "abc", "team": "ai"}
    assert set(req.extras["openai"]["unknown"]) == {
        "store", "n", "logprobs", "service_tier", "prompt_cache_key", "verbosity"}


def test_parse_request_images_files_and_opaque_parts():
    req = oa.parse_request(load("request_images.json"))
    text, url_image, inline_image, pdf = req.messages[0].parts
    assert text.text.startswith("Compare")
    assert (url_image.url, url_image.detail, url_image.data) == (
        "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg", "high", None)
    assert inline_image.media_type == "image/png" and inline_image.data.startswith("iVBOR")
    assert inline_image.url is None
    assert (pdf.media_type, pdf.name) == ("application/pdf", "invoice.pdf")
    assert req.messages[0].extras["openai"]["opaque"] == [4, 5], "file_id and input_audio stay opaque"


def test_parse_request_tools_parallel_calls_and_results():
    req = oa.parse_request(load("request_tools.json"))
    assert [t.name for t in req.tools] == ["get_weather", "list_files"], "custom tools are not ir tools"
    assert req.tools[0].parameters["required"] == ["city", "unit"]
    assert req.tools[1].description is None
    assert req.tool_choice == ir.ToolChoice("tool", "get_weather")
    assert req.is_parallel_tool_calls is True
    assert req.is_stream and req.is_usage_in_stream
    calls = req.messages[1].parts
    assert [(c.id, c.name) for c in calls] == [("call_abc123", "get_weather"), ("call_def456", "get_weather")]
    assert calls[0].arguments == '{"city": "Paris", "unit": "celsius"}', "arguments text kept verbatim"
    results = req.messages[2]
    assert results.role == "tool" and len(results.parts) == 2, "consecutive tool messages: one turn"
    first, second = results.parts
    assert (first.call_id, first.name, first.content) == ("call_abc123", "get_weather",
                                                          [ir.Text('{"temp": 18, "sky": "cloudy"}')])
    assert second.content[0].text.startswith("Error:")


def test_parse_request_reasoning_and_json_schema():
    req = oa.parse_request(load("request_reasoning.json"))
    first, second = req.messages[1], req.messages[3]
    assert first.parts[0] == ir.Reasoning("I should call the counter tool with the word and letter.")
    assert isinstance(first.parts[1], ir.ToolCall), "empty content adds no Text part"
    assert second.parts[0].text == "The tool says 3."
    assert second.extras["openai"]["reasoning_keys"] == ["reasoning"]
    fmt = req.response_format
    assert (fmt.kind, fmt.name, fmt.is_strict) == ("json_schema", "letter_count", True)
    assert fmt.schema["required"] == ["count"]
    assert req.tool_choice == ir.ToolChoice("auto") and req.is_usage_in_stream is False


def test_parse_request_sdk_dump_nulls_and_refusals():
    req = oa.parse_request(load("request_sdk_dump.json"))
    assert req.messages[1].parts == [ir.Refusal("I'm sorry, I can't help with that.")]
    text, refusal = req.messages[2].parts
    assert text.text == "Here is a poem." and isinstance(refusal, ir.Refusal)
    assert req.temperature is None and req.extras["openai"]["unknown"]["temperature"] is None
    assert (req.top_k, req.stop, req.response_format.kind) == (40, ["END", "STOP"], "json_object")
    assert (req.presence_penalty, req.frequency_penalty) == (-0.5, 0.5)


def test_parse_request_model_and_stream_arguments():
    req = oa.parse_request({"messages": []}, model="from-url", is_stream=True)
    assert req.model == "from-url" and req.is_stream is True
    assert oa.parse_request({"model": "body", "messages": []}, model="x").model == "body"


@pytest.mark.parametrize("body", [[], {"messages": "hi"}, {"messages": ["hi"]}])
def test_parse_request_rejects_malformed_bodies(body):
    with pytest.raises(ClientError):
        oa.parse_request(body)


# ---- requests: rendering another family's IR ------------------------------------------------

def foreign_request(**overrides):
    """An IR shaped like the Anthropic parser's output (only anthropic extras)."""
    req = ir.Request(
        model="gpt-x",
        system=[ir.Text("x-anthropic-billing-header: cc_version=2"),
                ir.Text("You are Claude Code.", extras={"anthropic": {"cache_control": {"type": "ephemeral"}}})],
        messages=[
            ir.Message("user", [ir.Text("<system-reminder>ctx</system-reminder>"), ir.Text("look at this"),
                                ir.Image(media_type="image/jpeg", data="/9j/4AAQ")]),
            ir.Message("assistant", [
                ir.Reasoning("Need both files.", extras={"anthropic": {"signature": "c2ln"}}),
                ir.Text("Reading."),
                ir.ToolCall("toolu_01", "read", '{"path":"a.py"}'),
                ir.ToolCall("toolu_02", "read", '{"path":"b.py"}')]),
            ir.Message("user", [
                ir.ToolResult("toolu_01", [ir.Text("1\tprint(1)")]),
                ir.ToolResult("toolu_02", [ir.Text("screenshot:"), ir.Image(url="https://x.test/s.png")],
                              is_error=True),
                ir.Text("continue")]),
        ],
        tools=[ir.ToolSpec("read", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}),
               ir.ToolSpec("noop")],
        tool_choice=ir.ToolChoice("required"), max_tokens=32000,
        reasoning=ir.ReasoningConfig(is_enabled=True, budget_tokens=31999),
        metadata={"user_id": "u1"}, top_k=5, stop=list("abcde"), is_stream=True)
    for key, value in overrides.items():
        setattr(req, key, value)
    return req


def test_render_foreign_request_shapes_messages_for_chat():
    req = foreign_request()
    out = oa.render_request(req)
    msgs = out["messages"]
    assert msgs[0] == {"role": "system",
                       "content": "x-anthropic-billing-header: cc_version=2\nYou are Claude Code."}
    assert msgs[1]["content"][:2] == [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                      {"type": "text", "text": "look at this"}]
    assert msgs[1]["content"][2] == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}
    assert msgs[2] == {"role": "assistant", "content": "Reading.", "reasoning_content": "Need both files.",
                       "tool_calls": [
                           {"id": "toolu_01", "type": "function", "function": {"name": "read", "arguments": '{"path":"a.py"}'}},
                           {"id": "toolu_02", "type": "function", "function": {"name": "read", "arguments": '{"path":"b.py"}'}}]}
    assert msgs[3] == {"role": "tool", "tool_call_id": "toolu_01", "content": "1\tprint(1)"}
    assert msgs[4] == {"role": "tool", "tool_call_id": "toolu_02", "content": "Error: screenshot:"}  # no error flag in Chat: prefixed
    assert msgs[5] == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/s.png"}}, {"type": "text", "text": "continue"}]}
    assert len(msgs) == 6


def test_render_foreign_request_top_level_fields():
    req = foreign_request()
    out = oa.render_request(req)
    assert out["tools"][1] == {"type": "function", "function": {
        "name": "noop", "parameters": {"type": "object", "properties": {}}}}
    assert out["tool_choice"] == "required" and out["max_tokens"] == 32000
    assert out["reasoning_effort"] == "high"
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert out["stop"] == ["a", "b", "c", "d"]
    assert "metadata" not in out and "top_k" not in out and "max_completion_tokens" not in out
    assert len(dropped(req)) == 3


@pytest.mark.parametrize("config, effort", [
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=1024), "low"),
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=2048), "low"),
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=2049), "medium"),
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=8192), "medium"),
    (ir.ReasoningConfig(is_enabled=True, budget_tokens=8193), "high"),  # ir.EFFORT_BUDGETS, shared by all formats
    (ir.ReasoningConfig(is_enabled=True), None),  # adaptive: server default
    (ir.ReasoningConfig(is_enabled=False, budget_tokens=0), None),
    (ir.ReasoningConfig(effort="minimal"), "minimal"),
    (ir.ReasoningConfig(effort="max"), "high"),
    (None, None),
])
def test_render_reasoning_effort_table(config, effort):
    out = oa.render_request(ir.Request(model="m", reasoning=config))
    assert out.get("reasoning_effort") == effort


def test_render_tool_choice_and_parallel_dropped_without_tools():
    req = ir.Request(model="m", tool_choice=ir.ToolChoice("required"), is_parallel_tool_calls=False)
    out = oa.render_request(req)
    assert "tool_choice" not in out and "parallel_tool_calls" not in out
    assert len(dropped(req)) == 2


def test_render_tool_choice_named_and_empty_arguments():
    req = ir.Request(model="m", tools=[ir.ToolSpec("f", parameters={"type": "object"})],
                     tool_choice=ir.ToolChoice("tool", "f"),
                     messages=[ir.Message("assistant", [ir.ToolCall("c1", "f", "")])])
    out = oa.render_request(req)
    assert out["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert out["messages"][0]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert out["messages"][0]["content"] is None


def test_render_documents_and_response_format():
    pdf = ir.Document(media_type="application/pdf", data="JVBERi0=", name="a.pdf")
    note = ir.Document(media_type="text/plain", data="aGVsbG8=")
    linked = ir.Document(url="https://x.test/a.pdf")
    req = ir.Request(model="m", messages=[ir.Message("user", [pdf, note, linked])],
                     response_format=ir.ResponseFormat("json_schema", schema={"type": "object"}))
    out = oa.render_request(req)
    assert out["messages"][0]["content"] == [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
        {"type": "text", "text": "hello"}]
    assert out["response_format"] == {"type": "json_schema",
                                      "json_schema": {"name": "response", "schema": {"type": "object"}}}
    assert dropped(req) == ["document given by URL (Chat Completions takes inline files only)"]


def test_render_foreign_user_id_is_kept_only_when_openai_accepts_it():
    short = ir.Request(model="m", user="u-1")
    assert oa.render_request(short)["user"] == "u-1"
    blob = ir.Request(model="m", user='{"device_id":"%s","session_id":"%s"}' % ("d" * 40, "s" * 36))
    assert "user" not in oa.render_request(blob) and dropped(blob) == ["user longer than 64 characters"]


def test_render_request_without_stream_sends_no_stream_options():
    out = oa.render_request(ir.Request(model="m", messages=[ir.Message("user", [ir.Text("hi")])]))
    assert out == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_render_mid_conversation_system_message():
    req = ir.Request(model="m", messages=[ir.Message("user", [ir.Text("a")]),
                                          ir.Message("system", [ir.Text("be brief"), ir.Image(url="u")])])
    out = oa.render_request(req)
    assert out["messages"][1] == {"role": "system", "content": "be brief"}
    assert dropped(req) == ["non-text parts in a system message"]


# ---- responses --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", names("response_"))
def test_response_round_trip_is_exact(name):
    body = load(name)
    assert oa.render_response(oa.parse_response(body), None) == body


def test_parse_response_text_and_usage():
    resp = oa.parse_response(load("response_text.json"))
    assert (resp.id, resp.model, resp.created_s) == ("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
                                                     "gpt-4o-2024-08-06", 1741569952)
    assert resp.parts == [ir.Text("Hello! How can I assist you today?")]
    assert resp.stop_reason == "end"
    assert resp.usage == ir.Usage(input_tokens=1117, output_tokens=10, cache_read_tokens=1024, reasoning_tokens=0)


def test_parse_response_parallel_tool_calls():
    resp = oa.parse_response(load("response_tool_calls.json"))
    assert [(p.id, p.arguments) for p in resp.parts] == [
        ("call_abc123", '{"city":"Paris","unit":"celsius"}'), ("call_def456", '{"city":"Tokyo","unit":"celsius"}')]
    assert resp.stop_reason == "tool_use"


def test_parse_response_reasoning_and_refusal():
    resp = oa.parse_response(load("response_reasoning.json"))
    assert isinstance(resp.parts[0], ir.Reasoning) and resp.parts[0].text.startswith("Let me count")
    assert resp.parts[1] == ir.Text("There are 3 r's in strawberry.")
    assert resp.usage.reasoning_tokens == 98 and resp.usage.cache_read_tokens == 0
    refusal = oa.parse_response(load("response_refusal.json"))
    assert refusal.parts == [ir.Refusal("I'm sorry, I can't help with that.")]
    assert oa.parse_response(load("response_length.json")).stop_reason == "max_tokens"


def test_parse_response_vllm_reasoning_alias_and_stop_string():
    resp = oa.parse_response(load("response_vllm.json"))
    assert resp.parts == [ir.Reasoning("The user wants a list; stop at END."), ir.Text("1. apples\n2. pears\n")]
    assert (resp.stop_reason, resp.stop_sequence) == ("stop_sequence", "END")
    assert resp.usage == ir.Usage(input_tokens=30, output_tokens=22)


def test_parse_response_tolerates_garbage():
    resp = oa.parse_response({"choices": "nope"})
    assert resp.parts == [] and resp.stop_reason is None and resp.usage == ir.Usage()
    assert oa.parse_response(None).id == ""


def test_render_foreign_response():
    resp = ir.Response(id="msg_01", model="", parts=[
        ir.Reasoning("Think.", extras={"anthropic": {"signature": "sig"}}), ir.Text("Calling."),
        ir.ToolCall("toolu_1", "read", '{"p":1}')], stop_reason="tool_use",
        usage=ir.Usage(input_tokens=1200, output_tokens=50, cache_read_tokens=1000, cache_creation_tokens=100))
    out = oa.render_response(resp, ir.Request(model="claude-x"))
    assert out == {
        "id": "msg_01", "object": "chat.completion", "created": 0, "model": "claude-x",
        "choices": [{"index": 0, "message": {
            "role": "assistant", "content": "Calling.", "reasoning_content": "Think.",
            "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "read", "arguments": '{"p":1}'}}],
            "refusal": None}, "logprobs": None, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250,
                  "prompt_tokens_details": {"cached_tokens": 1000}}}


def test_render_response_defaults_and_refusal():
    out = oa.render_response(ir.Response(parts=[ir.Refusal("No.")], stop_reason="content_filter"), None)
    assert out["id"] == "chatcmpl-tresor" and out["model"] == ""
    assert out["choices"][0]["message"] == {"role": "assistant", "content": None, "refusal": "No."}
    empty = oa.render_response(ir.Response(parts=[ir.Reasoning("hm")]), None)["choices"][0]["message"]
    assert empty["content"] == "" and empty["reasoning_content"] == "hm"
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


# ---- stop reasons and usage (table-driven) ---------------------------------------------------

@pytest.mark.parametrize("finish, has_calls, matched, expected", [
    ("stop", False, None, "end"),
    ("length", False, None, "max_tokens"),
    ("tool_calls", True, None, "tool_use"),
    ("function_call", False, None, "tool_use"),
    ("content_filter", False, None, "content_filter"),
    ("stop", True, None, "tool_use"),  # llama.cpp / Gemini compat answer "stop" with calls
    ("stop", False, "END", "stop_sequence"),  # vLLM choice.stop_reason
    ("eos", False, None, "end"),
    (None, False, None, None),
])
def test_stop_reason_from_wire(finish, has_calls, matched, expected):
    from tresor.formats.openai.response import stop_from_wire
    assert stop_from_wire(finish, has_calls, matched) == expected


@pytest.mark.parametrize("reason, has_calls, expected", [
    ("end", False, "stop"), ("max_tokens", False, "length"), ("tool_use", True, "tool_calls"),
    ("stop_sequence", False, "stop"), ("content_filter", False, "content_filter"), ("error", False, "stop"),
    (None, False, "stop"), ("end", True, "tool_calls"), (None, True, "tool_calls"), ("max_tokens", True, "length"),
])
def test_stop_reason_to_wire(reason, has_calls, expected):
    from tresor.formats.openai.response import stop_to_wire
    assert stop_to_wire(reason, has_calls) == expected


@pytest.mark.parametrize("obj, expected", [
    ({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, ir.Usage(10, 5)),
    ({"usage": {"prompt_tokens": 100, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 80},
                "completion_tokens_details": {"reasoning_tokens": 12}}}, ir.Usage(100, 20, 80, None, 12)),
    ({"usage": {"prompt_tokens": 64, "completion_tokens": 1, "prompt_cache_hit_tokens": 60}},  # DeepSeek
     ir.Usage(64, 1, cache_read_tokens=60)),
    ({"usage": {"prompt_tokens": 9, "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 5}}},  # OpenRouter
     ir.Usage(9, 1, 2, 5)),
    ({"choices": [], "usage": None}, None),
    ({"id": "x", "choices": []}, None),
    (None, None),
])
def test_parse_usage_table(obj, expected):
    assert oa.parse_usage(obj) == expected


def test_render_usage_keeps_cache_writes_inside_prompt_tokens():
    from tresor.formats.openai.response import render_usage
    usage = ir.Usage(input_tokens=500, output_tokens=30, cache_read_tokens=100, cache_creation_tokens=300,
                     reasoning_tokens=10)
    assert render_usage(usage) == {"prompt_tokens": 500, "completion_tokens": 30, "total_tokens": 530,
                                   "prompt_tokens_details": {"cached_tokens": 100},
                                   "completion_tokens_details": {"reasoning_tokens": 10}}


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("status, body, message, kind, code", [
    (429, load("error_429.json"), "Rate limit reached for gpt-4o", "tokens", "rate_limit_exceeded"),
    (401, load("error_401.json"), "Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     "Overloaded", "overloaded_error", None),
    (429, {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}},
     "Resource exhausted", "rate_limit_error", None),
    (400, {"object": "error", "message": "max_tokens too large", "type": "BadRequestError", "code": 400},
     "max_tokens too large", "BadRequestError", None),
    (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, '[{"loc"',
     "invalid_request_error", None),
    (502, "<html>Bad Gateway</html>", "<html>Bad Gateway</html>", "api_error", None),
    (503, b'{"error": "model is loading"}', "model is loading", "overloaded_error", None),
    (500, None, "upstream returned HTTP 500", "api_error", None),
    (404, [{"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}],
     "models/x is not found", "not_found_error", None),
])
def test_parse_error_is_lenient(status, body, message, kind, code):
    err = oa.parse_error(status, body)
    assert err.status == status and err.message.startswith(message)
    assert (err.kind, err.code) == (kind, code)


@pytest.mark.parametrize("status, kind, expected_type, expected_code", [
    (400, "api_error", "invalid_request_error", None),
    (401, "authentication_error", "authentication_error", None),
    (403, "api_error", "permission_error", None),
    (404, "not_found_error", "not_found_error", None),
    (413, "request_too_large", "invalid_request_error", None),
    (429, "rate_limit_error", "rate_limit_error", "rate_limit_exceeded"),
    (429, "insufficient_quota", "insufficient_quota", "rate_limit_exceeded"),
    (500, "api_error", "server_error", None),
    (503, "overloaded_error", "server_error", None),
    (529, "overloaded_error", "server_error", None),
    (418, "RESOURCE_EXHAUSTED", "invalid_request_error", None),
])
def test_render_error_envelope(status, kind, expected_type, expected_code):
    out = oa.render_error(ir.Error(status=status, message="boom", kind=kind))
    assert out == {"error": {"message": "boom", "type": expected_type, "param": None, "code": expected_code}}


@pytest.mark.parametrize("name, status", [("error_429.json", 429), ("error_401.json", 401),
                                          ("error_400_context.json", 400)])
def test_error_fixture_round_trip_except_param(name, status):
    body = load(name)
    out = oa.render_error(oa.parse_error(status, body))
    body["error"]["param"] = None  # ir.Error has no `param`: documented loss
    assert out == body


def test_render_stream_error_is_a_data_only_error_chunk():
    event = oa.render_stream_error(ir.Error(status=500, message="upstream reset", kind="api_error"))
    assert event.event is None
    assert json.loads(event.data) == {"error": {"message": "upstream reset", "type": "server_error",
                                                "param": None, "code": None}}
