"""The gemini format: requests, responses, usage, stop reasons and errors (streams: test_gemini_stream.py)."""
import json
import os
import re

import pytest

from tests.support import ROOT
from tresor.errors import TranslationError
from tresor.formats import gemini, ir
from tresor.formats.gemini.parts import SKIP_SIGNATURE

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "gemini")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def names(prefix):
    return sorted(n for n in os.listdir(FIXTURES) if n.startswith(prefix) and n.endswith(".json"))


# ---- requests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in names("request_") if n != "request_snake.json"])
def test_request_round_trips_exactly(name):
    body = load(name)
    assert gemini.render_request(gemini.parse_request(body, model="gemini-2.5-flash")) == body


def test_snake_case_request_parses_like_camel_case_and_renders_camel_case():
    # aider/litellm send snake_case (clients.md §3); google-genai camelCase.
    snake, camel = load("request_snake.json"), load("request_camel_equivalent.json")
    assert gemini.parse_request(snake) == gemini.parse_request(camel)
    assert gemini.render_request(gemini.parse_request(snake)) == camel


@pytest.mark.parametrize("model, is_stream, expected", [
    ("gemini-2.5-flash", False, ("/v1beta/models/gemini-2.5-flash:generateContent", "")),
    ("gemini-2.5-flash", True, ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse")),
    ("models/gemini-2.5-pro", True, ("/v1beta/models/gemini-2.5-pro:streamGenerateContent", "alt=sse")),
])
def test_request_path_puts_model_and_stream_flag_in_the_url(model, is_stream, expected):
    assert gemini.request_path(model, is_stream) == expected


def test_parse_request_reads_system_turns_and_sampling():
    req = gemini.parse_request(load("request_basic.json"), model="gemini-2.5-flash", is_stream=True)
    assert (req.model, req.is_stream, req.is_usage_in_stream) == ("gemini-2.5-flash", True, True)
    assert [p.text for p in req.system] == ["You are a terse geography tutor.", "Never use more than ten words."]
    assert [m.role for m in req.messages] == ["user", "assistant", "user"]
    assert req.messages[1].parts == [ir.Text("The capital of France is Paris.")]
    assert (req.temperature, req.top_p, req.top_k, req.max_tokens) == (0.2, 0.95, 40, 256)
    assert (req.seed, req.presence_penalty, req.frequency_penalty) == (42, 0.5, 0.25)
    assert req.stop == ["\n\n", "END"]
    assert req.extras["gemini"]["generation"] == {"candidateCount": 1}


def test_parse_request_synthesises_call_ids_and_matches_results_by_name():
    req = gemini.parse_request(load("request_tools.json"))
    model_turn, results = req.messages[1], req.messages[2]
    thought, paris, tokyo = model_turn.parts
    assert thought == ir.Reasoning("I need to look up both cities.",
                                   extras={"gemini": {"thoughtSignature": "CiQBVKhc7ZBjH7tXg1vYp3Q2k8Ew"}})
    assert (paris.id, paris.name, paris.arguments) == ("call_gemini_0", "get_weather",
                                                       '{"city":"Paris","unit":"celsius"}')
    assert paris.extras == {"gemini": {"thoughtSignature": "EpoCCpcCAVSoXO2B3yPq", "synthetic_id": True}}
    assert tokyo.id == "call_gemini_1"
    assert results.role == "tool"
    ok, failed = results.parts
    assert (ok.call_id, ok.name, ok.content, ok.is_error) == ("call_gemini_0", "get_weather",
                                                              [ir.Text("18°C, light rain")], False)
    assert (failed.call_id, failed.content, failed.is_error) == ("call_gemini_1",
                                                                 [ir.Text("weather service timeout")], True)


def test_gemini_call_ids_are_kept_and_non_canonical_responses_read_as_json_text():
    req = gemini.parse_request(load("request_tools.json"))
    call, result = req.messages[3].parts[0], req.messages[4].parts[0]
    assert call.id == result.call_id == "fc-7d1"
    assert result.content == [ir.Text('{"population":13960000,"country":"JP"}')]


def test_openapi_parameters_become_json_schema_and_json_schema_stays_intact():
    req = gemini.parse_request(load("request_tools.json"))
    weather, city, now = req.tools
    assert weather.parameters == {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit"]}}}
    assert city.parameters == load("request_tools.json")["tools"][0]["functionDeclarations"][1]["parametersJsonSchema"]
    assert now.parameters is None
    assert req.extras["gemini"]["tools"][1:] == [{"n": None, "other": {"googleSearch": {}}},
                                                  {"n": None, "other": {"codeExecution": {}}}]


@pytest.mark.parametrize("calling, expected", [
    ({"mode": "AUTO"}, ir.ToolChoice("auto")),
    ({"mode": "NONE"}, ir.ToolChoice("none")),
    ({"mode": "ANY"}, ir.ToolChoice("required")),
    ({"mode": "ANY", "allowedFunctionNames": ["a", "b"]}, ir.ToolChoice("required")),
    ({"mode": "ANY", "allowedFunctionNames": ["read"]}, ir.ToolChoice("tool", "read")),
    ({"mode": "VALIDATED"}, ir.ToolChoice("auto")),
    ({}, ir.ToolChoice("auto")),
])
def test_tool_config_maps_to_tool_choice(calling, expected):
    body = {"contents": [], "toolConfig": {"functionCallingConfig": calling}}
    assert gemini.parse_request(body).tool_choice == expected


@pytest.mark.parametrize("choice, expected", [
    (ir.ToolChoice("auto"), {"mode": "AUTO"}),
    (ir.ToolChoice("none"), {"mode": "NONE"}),
    (ir.ToolChoice("required"), {"mode": "ANY"}),
    (ir.ToolChoice("tool", "read"), {"mode": "ANY", "allowedFunctionNames": ["read"]}),
])
def test_tool_choice_renders_function_calling_config(choice, expected):
    body = gemini.render_request(ir.Request(tool_choice=choice))
    assert body["toolConfig"] == {"functionCallingConfig": expected}


@pytest.mark.parametrize("config, expected", [
    ({"thinkingBudget": -1}, ir.ReasoningConfig(is_enabled=True)),
    ({"thinkingBudget": 0}, ir.ReasoningConfig(is_enabled=False)),
    ({"thinkingBudget": 2048, "includeThoughts": True},
     ir.ReasoningConfig(is_enabled=True, budget_tokens=2048, include_summary=True)),
    ({"thinkingLevel": "HIGH"}, ir.ReasoningConfig(effort="high")),
    ({"includeThoughts": False}, ir.ReasoningConfig(include_summary=False)),
])
def test_thinking_config_maps_to_reasoning_config(config, expected):
    body = {"contents": [], "generationConfig": {"thinkingConfig": config}}
    assert gemini.parse_request(body).reasoning == expected


@pytest.mark.parametrize("model, reasoning, expected", [
    ("gemini-2.5-pro", ir.ReasoningConfig(is_enabled=True, budget_tokens=31999),
     {"thinkingBudget": 31999, "includeThoughts": True}),
    ("gemini-2.5-flash", ir.ReasoningConfig(is_enabled=True, budget_tokens=31999),
     {"thinkingBudget": 24576, "includeThoughts": True}),
    ("gemini-2.5-flash", ir.ReasoningConfig(is_enabled=True), {"thinkingBudget": -1, "includeThoughts": True}),
    ("gemini-2.5-flash", ir.ReasoningConfig(is_enabled=False), {"thinkingBudget": 0}),
    ("gemini-2.5-pro", ir.ReasoningConfig(effort="low"), {"thinkingBudget": 2048, "includeThoughts": True}),
    ("gemini-2.5-pro", ir.ReasoningConfig(effort="high", include_summary=False),
     {"thinkingBudget": 24576, "includeThoughts": False}),
])
def test_reasoning_from_other_formats_renders_a_thinking_budget(model, reasoning, expected):
    body = gemini.render_request(ir.Request(model=model, reasoning=reasoning))
    assert body["generationConfig"]["thinkingConfig"] == expected


def test_json_output_maps_both_ways():
    req = gemini.parse_request(load("request_json_output.json"))
    assert req.response_format.kind == "json_schema"
    assert req.response_format.schema["type"] == "array"
    assert req.response_format.schema["items"]["properties"]["recipeName"] == {"type": "string"}
    plain = gemini.parse_request({"contents": [], "generationConfig": {"responseMimeType": "application/json"}})
    assert plain.response_format == ir.ResponseFormat("json_object")
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    body = gemini.render_request(ir.Request(response_format=ir.ResponseFormat("json_schema", schema, "x", True)))
    assert body["generationConfig"] == {"responseMimeType": "application/json",
                                        "responseJsonSchema": {"type": "object"}}


def test_media_parts_map_to_images_and_documents():
    parts = gemini.parse_request(load("request_media.json")).messages[0].parts
    text, jpeg, png, pdf, file_pdf = parts
    assert isinstance(jpeg, ir.Image) and jpeg.media_type == "image/jpeg" and jpeg.data.startswith("/9j/")
    assert png == ir.Image(media_type="image/png", url="https://example.com/photos/harbour.png")
    assert isinstance(pdf, ir.Document) and pdf.media_type == "application/pdf" and pdf.data
    assert file_pdf == ir.Document(media_type="application/pdf",
                                   url="https://generativelanguage.googleapis.com/v1beta/files/abc123")


def test_unknown_fields_and_parts_without_ir_form_are_kept():
    req = gemini.parse_request(load("request_unknown_fields.json"))
    ex = req.extras["gemini"]
    assert set(ex["unknown"]) == {"safetySettings", "cachedContent", "labels"}
    assert ex["generation"] == {"responseModalities": ["TEXT"], "mediaResolution": "MEDIA_RESOLUTION_LOW"}
    assert req.system == [ir.Text("Be precise.")]
    assert [p.text for p in req.messages[1].parts] == ["The sum is 5117."]
    assert [pos for pos, _ in req.messages[1].extras["gemini"]["others"]] == [0, 1]


def test_parse_request_rejects_a_body_that_is_not_an_object():
    with pytest.raises(TranslationError):
        gemini.parse_request([{"role": "user"}])


def _foreign_request():
    """What an OpenAI / Anthropic client's request looks like in the IR."""
    return ir.Request(
        model="gemini-2.5-flash",
        system=[ir.Text("Be helpful.", extras={"anthropic": {"cache_control": {"type": "ephemeral"}}})],
        messages=[
            ir.Message("user", [ir.Text("hi"), ir.Image(url="data:image/png;base64,iVBORw0KGgo="),
                                ir.Image(url="https://example.com/cat.jpg")]),
            ir.Message("system", [ir.Text("Environment: linux")]),
            ir.Message("assistant", [ir.Reasoning("Let me read both.", extras={"anthropic": {"signature": "s"}}),
                                     ir.Reasoning("", is_redacted=True),
                                     ir.ToolCall("toolu_01", "read", '{"path":"a"}'),
                                     ir.ToolCall("toolu_02", "read", '{"path":')]),
            ir.Message("tool", [ir.ToolResult("toolu_01", [ir.Text("A")])]),
            ir.Message("tool", [ir.ToolResult("toolu_02", [ir.Text("no such file")], is_error=True)]),
        ],
        tools=[ir.ToolSpec("read", "Read a file", {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                                   "type": "object", "additionalProperties": False,
                                                   "properties": {"path": {"type": "string"}}})],
        user="u-1", is_parallel_tool_calls=False)


def test_render_request_from_another_format_builds_valid_gemini_contents():
    body = gemini.render_request(_foreign_request())
    user, system_turn, model, results = body["contents"]
    assert user["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert user["parts"][2] == {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}}
    assert system_turn == {"role": "user", "parts": [{"text": "Environment: linux"}]}
    assert model["role"] == "model"
    assert model["parts"] == [  # foreign reasoning is not replayed (google-gemini/gemini-cli#705)
        {"functionCall": {"name": "read", "args": {"path": "a"}}, "thoughtSignature": SKIP_SIGNATURE},
        {"functionCall": {"name": "read", "args": {}}}]  # invalid JSON arguments -> {}
    # Both results in ONE content, names looked up from the calls, no foreign ids.
    assert results == {"role": "user", "parts": [
        {"functionResponse": {"name": "read", "response": {"result": "A"}}},
        {"functionResponse": {"name": "read", "response": {"error": "no such file"}}}]}
    assert body["systemInstruction"] == {"parts": [{"text": "Be helpful."}]}


def test_render_request_from_another_format_uses_parameters_json_schema_without_meta_uri():
    req = _foreign_request()
    decl = gemini.render_request(req)["tools"][0]["functionDeclarations"][0]
    assert decl == {"name": "read", "description": "Read a file", "parametersJsonSchema": {
        "type": "object", "additionalProperties": False, "properties": {"path": {"type": "string"}}}}
    assert req.extras["_dropped"] == ["gemini: user", "gemini: parallel_tool_calls=false"]


def test_render_request_keeps_at_most_five_stop_sequences():
    req = ir.Request(stop=["a", "b", "c", "d", "e", "f"])
    assert gemini.render_request(req)["generationConfig"] == {"stopSequences": ["a", "b", "c", "d", "e"]}
    assert req.extras["_dropped"] == ["gemini: stop sequences after the first 5"]


def test_legacy_function_role_parses_as_tool_turn_and_round_trips():
    body = {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}}}]},
                         {"role": "function", "parts": [{"functionResponse": {"name": "f", "response": {"ok": True}}}]}]}
    req = gemini.parse_request(body)
    assert req.messages[1].role == "tool"
    assert req.messages[1].parts[0].call_id == req.messages[0].parts[0].id == "call_gemini_0"
    assert req.messages[1].parts[0].content == [ir.Text('{"ok":true}')]
    assert gemini.render_request(req) == body


def test_tool_result_images_ride_as_sibling_parts():
    req = ir.Request(messages=[ir.Message("user", [ir.ToolResult(
        "c1", [ir.Text("see"), ir.Image(media_type="image/png", data="iVBOR")], name="shot")])])
    assert gemini.render_request(req)["contents"][0]["parts"] == [
        {"functionResponse": {"name": "shot", "response": {"result": "see"}}},
        {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}}]


def test_unsigned_gemini_history_gets_no_skip_signature_and_keeps_its_thoughts():
    body = {"contents": [{"role": "model", "parts": [{"text": "hmm", "thought": True},
                                                     {"functionCall": {"name": "f", "args": {}}}]}]}
    assert gemini.render_request(gemini.parse_request(body)) == body


# ---- responses ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", names("response_"))
def test_response_round_trips_exactly(name):
    body = load(name)
    assert gemini.render_response(gemini.parse_response(body), None) == body


def test_parse_response_text_with_cache_and_thoughts_usage():
    resp = gemini.parse_response(load("response_text.json"))
    assert (resp.id, resp.model, resp.stop_reason) == ("Il0taoSYJ5Cez7IPpq2Q8Qs", "gemini-2.5-flash", "end")
    assert resp.parts == [ir.Text("Berlin.", extras={"gemini": {"thoughtSignature": "CsgBAVSoXO1kQj"}})]
    assert resp.usage == ir.Usage(input_tokens=1200, output_tokens=51, cache_read_tokens=1024, reasoning_tokens=48)


def test_parse_response_tool_calls_get_stable_sanitised_ids_and_tool_use():
    resp = gemini.parse_response(load("response_tool_calls.json"))
    assert resp.stop_reason == "tool_use"
    assert [p.id for p in resp.parts] == ["call_x9aZQw-1_k_0", "call_x9aZQw-1_k_1", "call_x9aZQw-1_k_2"]
    assert all(re.match(r"^[a-zA-Z0-9_-]+$", p.id) and len(p.id) <= 40 for p in resp.parts)
    assert [p.arguments for p in resp.parts] == ['{"city":"Paris","unit":"celsius"}',
                                                '{"city":"Tokyo","unit":"celsius"}', "{}"]
    assert resp.parts[0].extras == {"gemini": {"thoughtSignature": "EpoCCpcCAVSoXO2B3yPq", "synthetic_id": True}}
    assert gemini.parse_response(load("response_tool_calls.json")).parts == resp.parts  # deterministic
    assert resp.usage == ir.Usage(input_tokens=120, output_tokens=140, reasoning_tokens=100)


def test_parse_response_reasoning_and_empty_signature_part():
    parts = gemini.parse_response(load("response_reasoning.json")).parts
    assert [type(p) for p in parts] == [ir.Reasoning, ir.Text, ir.Text]
    assert parts[1].text == "17 × 23 = 391."
    assert parts[2] == ir.Text("", extras={"gemini": {"thoughtSignature": "CvEBAVSoXO0Gk"}})


@pytest.mark.parametrize("name, stop, has_parts", [
    ("response_safety.json", "content_filter", False),
    ("response_blocked.json", "content_filter", False),
    ("response_max_tokens.json", "max_tokens", True),
])
def test_parse_response_stop_reasons_of_fixtures(name, stop, has_parts):
    resp = gemini.parse_response(load(name))
    assert resp.stop_reason == stop and bool(resp.parts) == has_parts


@pytest.mark.parametrize("finish, has_calls, expected", [
    ("STOP", False, "end"), ("STOP", True, "tool_use"), ("MAX_TOKENS", False, "max_tokens"),
    ("SAFETY", False, "content_filter"), ("RECITATION", False, "content_filter"),
    ("BLOCKLIST", False, "content_filter"), ("PROHIBITED_CONTENT", False, "content_filter"),
    ("SPII", False, "content_filter"), ("IMAGE_SAFETY", False, "content_filter"),
    ("MALFORMED_FUNCTION_CALL", False, "error"), ("OTHER", False, "end"),
    ("FINISH_REASON_UNSPECIFIED", False, "end"), ("SOMETHING_NEW", False, "end"), (None, False, None),
])
def test_finish_reason_maps_to_stop_reason(finish, has_calls, expected):
    parts = [{"functionCall": {"name": "f", "args": {}}}] if has_calls else [{"text": "x"}]
    candidate = {"content": {"role": "model", "parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    assert gemini.parse_response({"candidates": [candidate]}).stop_reason == expected


@pytest.mark.parametrize("stop, expected", [
    ("end", "STOP"), ("tool_use", "STOP"), ("stop_sequence", "STOP"), ("max_tokens", "MAX_TOKENS"),
    ("content_filter", "SAFETY"), ("error", "OTHER"), (None, "STOP"),
])
def test_stop_reason_renders_finish_reason(stop, expected):
    body = gemini.render_response(ir.Response(stop_reason=stop), None)
    assert body["candidates"][0]["finishReason"] == expected


@pytest.mark.parametrize("obj, expected", [
    ({"usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}},
     ir.Usage(input_tokens=10, output_tokens=5)),
    ({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7, "totalTokenCount": 22},
     ir.Usage(input_tokens=10, output_tokens=12, reasoning_tokens=7)),
    ({"promptTokenCount": 100, "toolUsePromptTokenCount": 20, "cachedContentTokenCount": 64,
      "candidatesTokenCount": 1, "totalTokenCount": 121},
     ir.Usage(input_tokens=120, output_tokens=1, cache_read_tokens=64)),
    ({"promptTokenCount": 9, "totalTokenCount": 9}, ir.Usage(input_tokens=9, output_tokens=0)),
    ({"prompt_token_count": 3, "candidates_token_count": 2}, ir.Usage(input_tokens=3, output_tokens=2)),
    ({"candidates": []}, None),
    (None, None),
])
def test_parse_usage_accepts_responses_chunks_and_bare_usage(obj, expected):
    assert gemini.parse_usage(obj) == expected


def test_render_usage_splits_reasoning_out_of_candidates():
    usage = ir.Usage(input_tokens=100, output_tokens=30, cache_read_tokens=80, cache_creation_tokens=5,
                     reasoning_tokens=20)
    meta = gemini.render_response(ir.Response(usage=usage), None)["usageMetadata"]
    assert meta == {"promptTokenCount": 100, "candidatesTokenCount": 10, "thoughtsTokenCount": 20,
                    "cachedContentTokenCount": 80, "totalTokenCount": 130}
    assert gemini.parse_usage(meta) == ir.Usage(input_tokens=100, output_tokens=30, cache_read_tokens=80,
                                                reasoning_tokens=20)


def test_render_response_from_another_format():
    resp = ir.Response(id="msg_01", model="", stop_reason="tool_use", parts=[
        ir.Reasoning("thinking", extras={"anthropic": {"signature": "sig"}}), ir.Refusal("I won't."),
        ir.Text("Reading."), ir.ToolCall("toolu_1", "read", '{"path":"a"}'), ir.ToolCall("toolu_2", "x", "{bad")],
        usage=ir.Usage(input_tokens=10, output_tokens=4))
    body = gemini.render_response(resp, ir.Request(model="claude-sonnet-4-5"))
    assert body == {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking", "thought": True}, {"text": "I won't."}, {"text": "Reading."},
            # the upstream's call ids go to the client, which echoes them back next turn
            {"functionCall": {"name": "read", "id": "toolu_1", "args": {"path": "a"}}},
            {"functionCall": {"name": "x", "id": "toolu_2", "args": {}}}]},
            "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "totalTokenCount": 14},
        "modelVersion": "claude-sonnet-4-5", "responseId": "msg_01"}


# ---- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, body, message, kind, code", [
    (429, load("error_429.json"), "Resource has been exhausted (e.g. check quota).", "rate_limit_error",
     "RESOURCE_EXHAUSTED"),
    (400, load("error_400.json"), "* GenerateContentRequest.contents: contents is not specified\n",
     "invalid_request_error", "INVALID_ARGUMENT"),
    (403, load("error_403.json"), load("error_403.json")["error"]["message"], "permission_error", "PERMISSION_DENIED"),
    (500, [{"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}], "boom", "api_error", "INTERNAL"),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "Overloaded",
     "overloaded_error", None),
    (401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}},
     "Incorrect API key", "invalid_request_error", "invalid_api_key"),
    (502, "upstream went away", "upstream went away", "overloaded_error", None),
    (404, None, "HTTP 404", "not_found_error", None),
])
def test_parse_error_reads_gemini_and_foreign_envelopes(status, body, message, kind, code):
    assert gemini.parse_error(status, body) == ir.Error(status, message, kind, code)


@pytest.mark.parametrize("error, status_name", [
    (ir.Error(400, "m", "invalid_request_error"), "INVALID_ARGUMENT"),
    (ir.Error(401, "m", "authentication_error"), "UNAUTHENTICATED"),
    (ir.Error(403, "m", "permission_error"), "PERMISSION_DENIED"),
    (ir.Error(404, "m", "not_found_error"), "NOT_FOUND"),
    (ir.Error(429, "m", "rate_limit_error"), "RESOURCE_EXHAUSTED"),
    (ir.Error(500, "m", "api_error"), "INTERNAL"),
    (ir.Error(503, "m", "overloaded_error"), "UNAVAILABLE"),
    (ir.Error(504, "m", "timeout_error"), "DEADLINE_EXCEEDED"),
    (ir.Error(429, "m", "insufficient_quota"), "RESOURCE_EXHAUSTED"),
    (ir.Error(418, "m", "weird"), "INVALID_ARGUMENT"),
    (ir.Error(400, "m", "api_error", "FAILED_PRECONDITION"), "FAILED_PRECONDITION"),
])
def test_render_error_maps_kind_and_status_to_rpc_status(error, status_name):
    assert gemini.render_error(error) == {"error": {"code": error.status, "message": "m", "status": status_name}}


@pytest.mark.parametrize("name, status", [("error_400.json", 400), ("error_403.json", 403)])
def test_error_envelope_round_trips(name, status):
    body = load(name)
    assert gemini.render_error(gemini.parse_error(status, body)) == body


def test_render_stream_error_is_a_data_only_event():
    event = gemini.render_stream_error(ir.Error(503, "overloaded", "overloaded_error"))
    assert event.event is None
    assert json.loads(event.data) == {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}


def test_render_count_tokens():
    assert gemini.render_count_tokens(42) == {"totalTokens": 42}
