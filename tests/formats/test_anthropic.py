"""anthropic format: requests, responses, usage, stop reasons, errors (streams: test_anthropic_stream.py)."""
import base64
import glob
import json
import os

import pytest

from tresor.errors import ClientError
from tresor.formats import anthropic as A
from tresor.formats import ir

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "anthropic")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def names(pattern):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(FIXTURES, pattern)))


def render(request):
    """Render a cross-family request (no anthropic extras) and return (body, dropped notes)."""
    body = A.render_request(request)
    return body, request.extras.get("_dropped", [])


def user(*parts):
    return ir.Message("user", list(parts))


# ---- same-family round trips


@pytest.mark.parametrize("name", names("request_*.json"))
def test_request_fixture_round_trips_exactly(name):
    body = load(name)
    assert A.render_request(A.parse_request(body)) == body


@pytest.mark.parametrize("name", names("response_*.json"))
def test_response_fixture_round_trips_exactly(name):
    body = load(name)
    assert A.render_response(A.parse_response(body), None) == body


def test_request_path_is_v1_messages():
    assert A.request_path("claude-x", True) == ("/v1/messages", "")


def test_parse_request_rejects_a_non_object_body():
    with pytest.raises(ClientError):
        A.parse_request(["not", "an", "object"])


# ---- parsed IR values


def test_claude_code_request_parses_system_thinking_and_tool_turns():
    req = A.parse_request(load("request_claude_code.json"))
    assert (req.model, req.max_tokens, req.is_stream) == ("claude-opus-5-5", 128000, True)
    assert [p.text[:12] for p in req.system] == ["x-anthropic-", "You are Clau", "You are an i"]
    assert req.system[1].extras == {"anthropic": {"cache_control": {"type": "ephemeral"}}}
    assert [m.role for m in req.messages] == ["user", "system", "assistant", "tool"]
    system = req.messages[1]
    assert system.extras["anthropic"]["output_config"] == {"effort": "medium"}
    thinking, call = req.messages[2].parts
    assert thinking.text.startswith("The user greets me")
    assert thinking.extras["anthropic"]["signature"].startswith("EqQB")
    assert (call.id, call.name) == ("toolu_01A09q90qw90lq917835lq9", "Read")
    assert call.arguments == '{"file_path":"/home/user/project/secret.txt","limit":2000}'
    result = req.messages[3].parts[0]
    assert (result.call_id, result.name, result.is_error) == (call.id, "Read", False)
    assert result.content[0].text == "1\tsecret value: 42\n"
    assert result.extras["anthropic"]["cache_control"] == {"type": "ephemeral"}


def test_claude_code_request_parses_tools_reasoning_metadata_and_unknown_fields():
    req = A.parse_request(load("request_claude_code.json"))
    assert [t.name for t in req.tools] == ["Read", "Bash", "DeferredToolPlaceholder"]
    assert req.tools[0].parameters["properties"]["offset"]["maximum"] == 9007199254740991
    assert req.tools[0].parameters["$schema"].startswith("https://json-schema.org/")
    assert req.tools[2].extras == {"anthropic": {"defer_loading": True}}
    assert req.reasoning == ir.ReasoningConfig(is_enabled=True, budget_tokens=None, effort="medium",
                                               include_summary=False)  # display: omitted
    assert req.user.startswith('{"device_id"')
    assert req.extras["anthropic"]["unknown"] == {"context_management": {"edits": [
        {"type": "clear_thinking_20251015", "keep": "all"}]}}


def test_tools_request_keeps_server_tools_out_of_the_ir():
    req = A.parse_request(load("request_tools_thinking.json"))
    assert [t.name for t in req.tools] == ["get_weather", "get_time"]
    assert req.tools[1].extras == {"anthropic": {"strict": True}}
    assert [i for i, _ in req.extras["anthropic"]["server_tools"]] == [1, 3]
    assert req.tool_choice == ir.ToolChoice("auto") and req.is_parallel_tool_calls is True
    assert req.reasoning == ir.ReasoningConfig(is_enabled=True, budget_tokens=10000)
    assert req.is_stream is False


def test_tools_request_parses_parallel_calls_results_and_opaque_blocks():
    messages = A.parse_request(load("request_tools_thinking.json")).messages
    assistant = messages[1].parts
    assert assistant[1].is_redacted and assistant[1].extras["anthropic"]["data"].startswith("EmwK")
    assert [type(p).__name__ for p in assistant] == ["Reasoning", "Reasoning", "Text", "Text", "Text",
                                                     "ToolCall", "ToolCall", "ToolCall"]
    assert assistant[3].text == "" and assistant[3].extras["anthropic"]["_block"]["type"] == "server_tool_use"
    assert [p.id for p in assistant[5:]] == ["toolu_01Paris", "toolu_01Tokyo", "toolu_01TimeP"]
    assert messages[2].role == "tool"
    paris, tokyo, time = messages[2].parts
    assert (paris.content[0].text, paris.is_error, paris.name) == ("15 degrees, cloudy", False, "get_weather")
    assert tokyo.is_error and tokyo.content[0].text.startswith("Error:")
    assert isinstance(time.content[1], ir.Image) and time.content[1].media_type == "image/jpeg"
    assert time.extras["anthropic"]["is_error"] is False  # an explicit false is kept for the round trip


def test_multimodal_request_parses_images_documents_and_sampling():
    req = A.parse_request(load("request_multimodal.json"))
    assert [p.text for p in req.system] == ["You are a careful assistant. Answer briefly."]
    assert req.messages[0].parts[0].text == "What is in these pictures?"
    png, url, file_image, pdf, text_doc, url_doc, text = req.messages[2].parts
    assert (png.media_type, png.data[:5], png.url) == ("image/png", "iVBOR", None)
    assert url.url.startswith("https://upload.wikimedia.org/")
    assert file_image.extras["anthropic"]["_source"] == {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}
    assert (pdf.media_type, pdf.name, pdf.extras["anthropic"]["context"]) == ("application/pdf", "report.pdf",
                                                                              "Quarterly report")
    assert base64.b64decode(text_doc.data).decode() == "The grass is green. The sky is blue."
    assert url_doc.url.endswith(".pdf")
    assert text.extras["anthropic"]["cache_control"]["ttl"] == "1h"
    assert (req.temperature, req.top_k, req.stop, req.user) == (0.2, 40, ["\n\nHuman:", "END"], "user-1234")
    assert req.extras["anthropic"]["unknown"] == {"service_tier": "auto"}


def test_json_output_request_maps_the_schema_to_response_format():
    req = A.parse_request(load("request_json_output.json"))
    assert req.response_format.kind == "json_schema"
    assert req.response_format.schema["required"] == ["name", "email", "plan"]
    assert req.tool_choice == ir.ToolChoice("none") and req.tools == [] and req.top_p == 0.9


def test_forced_tool_request_maps_choice_parallelism_and_disabled_thinking():
    req = A.parse_request(load("request_forced_tool.json"))
    assert req.tool_choice == ir.ToolChoice("tool", "record_person")
    assert req.is_parallel_tool_calls is False
    assert req.reasoning.is_enabled is False


def test_parse_request_takes_model_and_stream_from_arguments_when_given():
    req = A.parse_request({"max_tokens": 5, "messages": []}, model="claude-x", is_stream=True)
    assert (req.model, req.is_stream) == ("claude-x", True)


# ---- rendering requests that came from other formats


@pytest.mark.parametrize("model, thinking, expected", [
    ("claude-opus-4-1-20250805", False, 32000), ("claude-sonnet-4-5-20250929", False, 64000),
    ("claude-3-7-sonnet-20250219", False, 64000), ("claude-haiku-4-5", False, 64000),
    ("claude-3-5-haiku-20241022", False, 8192), ("some-other-model", False, 8192),
    ("some-other-model", True, 32000), ("claude-sonnet-4-20250514", True, 64000),
])
def test_max_tokens_defaults_by_model_when_not_asked(model, thinking, expected):
    request = ir.Request(model=model, messages=[user(ir.Text("hi"))],
                         reasoning=ir.ReasoningConfig(is_enabled=True) if thinking else None)
    assert render(request)[0]["max_tokens"] == expected


@pytest.mark.parametrize("requested, budget, expected", [(4096, 8192, 12288), (500, 2048, 3072), (None, 40000, 41024),
                                                         (20000, 8192, 20000)])
def test_max_tokens_always_exceeds_the_thinking_budget(requested, budget, expected):
    request = ir.Request(model="claude-3-7-haiku", max_tokens=requested, messages=[user(ir.Text("hi"))],
                         reasoning=ir.ReasoningConfig(is_enabled=True, budget_tokens=budget))
    body = render(request)[0]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == expected


@pytest.mark.parametrize("effort, budget", [("minimal", 1024), ("low", 2048), ("medium", 8192), ("high", 24576)])
def test_an_effort_alone_becomes_a_thinking_budget_on_budget_models(effort, budget):
    request = ir.Request(model="claude-sonnet-4-20250514", messages=[user(ir.Text("hi"))],
                         reasoning=ir.ReasoningConfig(effort=effort))
    body = render(request)[0]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget} and "output_config" not in body


@pytest.mark.parametrize("reasoning, effort", [(ir.ReasoningConfig(effort="minimal"), "low"),
                                                (ir.ReasoningConfig(is_enabled=True, budget_tokens=30000), "high"),
                                                (ir.ReasoningConfig(is_enabled=True, budget_tokens=2000), "low")])
def test_claude_4_6_and_later_get_adaptive_thinking_with_an_effort(reasoning, effort):
    body = render(ir.Request(model="claude-opus-4-7", messages=[user(ir.Text("hi"))], reasoning=reasoning))[0]
    assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": effort}


@pytest.mark.parametrize("model, include_summary, thinking", [
    ("claude-opus-4-7", True, {"type": "adaptive", "display": "summarized"}),
    ("claude-opus-4-7", False, {"type": "adaptive", "display": "omitted"}),
    ("claude-opus-4-7", None, {"type": "adaptive"}),
    ("claude-sonnet-4-20250514", True, {"type": "enabled", "budget_tokens": 8192}),  # no `display` before 4.6
])
def test_a_summary_request_sets_thinking_display_on_adaptive_models(model, include_summary, thinking):
    reasoning = ir.ReasoningConfig(effort="medium", include_summary=include_summary)
    body = render(ir.Request(model=model, messages=[user(ir.Text("hi"))], reasoning=reasoning))[0]
    assert body["thinking"] == thinking


def test_disabled_reasoning_renders_thinking_disabled():
    body = render(ir.Request(model="m", messages=[user(ir.Text("hi"))],
                             reasoning=ir.ReasoningConfig(is_enabled=False, effort="low")))[0]
    assert body["thinking"] == {"type": "disabled"} and "output_config" not in body


def test_sampling_parameters_the_api_rejects_with_thinking_are_dropped():
    request = ir.Request(model="claude-sonnet-4-20250514", messages=[user(ir.Text("hi"))], temperature=0.3,
                         top_p=0.9, top_k=5, reasoning=ir.ReasoningConfig(is_enabled=True, budget_tokens=2048))
    body, dropped = render(request)
    assert not {"temperature", "top_p", "top_k"} & set(body)
    assert len(dropped) == 3


def test_sampling_is_clamped_and_top_p_dropped_next_to_temperature_without_thinking():
    request = ir.Request(model="claude-sonnet-4-5", messages=[user(ir.Text("hi"))], temperature=1.5, top_p=0.5,
                         top_k=3, stop=["\n", "END"], seed=1, presence_penalty=0.1)
    body, dropped = render(request)
    assert (body["temperature"], body["top_k"], body["stop_sequences"]) == (1.0, 3, ["END"])
    assert "top_p" not in body and {"seed", "presence_penalty"} <= set(dropped)


def test_single_plain_system_text_becomes_a_string_and_blocks_stay_blocks():
    plain = render(ir.Request(model="m", system=[ir.Text("Be brief.")], messages=[user(ir.Text("hi"))]))[0]
    assert plain["system"] == "Be brief."
    two = render(ir.Request(model="m", system=[ir.Text("a"), ir.Text("b")], messages=[user(ir.Text("hi"))]))[0]
    assert two["system"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]


def test_consecutive_tool_results_become_one_user_turn_after_the_calls():
    calls = [ir.ToolCall("call_1", "f", '{"a":1}'), ir.ToolCall("call_2", "f", "")]
    request = ir.Request(model="m", messages=[
        user(ir.Text("go")), ir.Message("assistant", [ir.Text("calling")] + calls),
        ir.Message("tool", [ir.ToolResult("call_1", [ir.Text("one")])]),
        ir.Message("tool", [ir.ToolResult("call_2", [ir.Text("two")], is_error=True)]),
        user(ir.Text("and now?"))])
    messages = render(request)[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert [b["input"] for b in messages[1]["content"][1:]] == [{"a": 1}, {}]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "two", "is_error": True},
        {"type": "text", "text": "and now?"}]


def test_interim_assistant_text_is_merged_before_the_tool_use():
    request = ir.Request(model="m", messages=[
        user(ir.Text("go")), ir.Message("assistant", [ir.ToolCall("c1", "f", "{}")]),
        ir.Message("assistant", [ir.Text("still working")]),
        ir.Message("tool", [ir.ToolResult("c1", [ir.Text("ok")])])])
    assistant = render(request)[0]["messages"][1]["content"]
    assert [b["type"] for b in assistant] == ["text", "tool_use"]


def test_a_foreign_system_message_is_folded_into_a_user_turn():
    request = ir.Request(model="m", messages=[user(ir.Text("hi")), ir.Message("assistant", [ir.Text("hello")]),
                                              ir.Message("system", [ir.Text("Answer in French.")]),
                                              user(ir.Text("ok?"))])
    last = render(request)[0]["messages"][-1]
    assert last == {"role": "user", "content": [{"type": "text", "text": A.request.SYSTEM_FOLD % "Answer in French."},
                                                {"type": "text", "text": "ok?"}]}


def test_an_anthropic_system_message_stays_a_system_message():
    req = A.parse_request(load("request_claude_code.json"))
    req.messages[1].parts.append(ir.Text("extra"))
    system = A.render_request(req)["messages"][1]
    assert system["role"] == "system" and system["output_config"] == {"effort": "medium"}
    assert system["content"][-1] == {"type": "text", "text": "extra"}


def test_unsigned_reasoning_is_dropped_from_requests_and_signed_kept():
    signed = ir.Reasoning("t", extras={"anthropic": {"signature": "sig"}})
    request = ir.Request(model="m", messages=[user(ir.Text("q")), ir.Message("assistant", [
        ir.Reasoning("from deepseek"), signed, ir.Reasoning("", is_redacted=True), ir.Text("a")])])
    body, dropped = render(request)
    assert body["messages"][1]["content"] == [{"type": "thinking", "thinking": "t", "signature": "sig"},
                                              {"type": "text", "text": "a"}]
    assert "reasoning without an Anthropic signature" in dropped


@pytest.mark.parametrize("image, source", [
    (ir.Image(url="data:image/jpeg;base64,/9j/4AAQ"),
     {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}),
    (ir.Image(url="https://x/y.png"), {"type": "url", "url": "https://x/y.png"}),
    (ir.Image(data="R0lGODlh"), {"type": "base64", "media_type": "image/gif", "data": "R0lGODlh"}),
    (ir.Image(data="AAAA", media_type="image/webp"), {"type": "base64", "media_type": "image/webp", "data": "AAAA"}),
])
def test_images_render_as_base64_or_url_sources(image, source):
    body = render(ir.Request(model="m", messages=[user(image, ir.Text("what is it?"))]))[0]
    assert body["messages"][0]["content"][0] == {"type": "image", "source": source}


def test_documents_render_as_pdf_text_or_url_sources_and_others_are_dropped():
    text = base64.b64encode(b"plain words").decode()
    body, dropped = render(ir.Request(model="m", messages=[user(
        ir.Document("application/pdf", "JVBERi0=", name="a.pdf"), ir.Document("text/plain", text),
        ir.Document(url="https://x/doc.pdf"), ir.Document("application/msword", "AAAA"), ir.Text("read"))]))
    blocks = body["messages"][0]["content"]
    assert blocks[0] == {"type": "document", "title": "a.pdf",
                         "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}
    assert blocks[1]["source"] == {"type": "text", "media_type": "text/plain", "data": "plain words"}
    assert blocks[2]["source"] == {"type": "url", "url": "https://x/doc.pdf"}
    assert len(blocks) == 4 and any("msword" in d for d in dropped)


@pytest.mark.parametrize("arguments, expected, is_dropped", [
    ('{"a": [1, 2]}', {"a": [1, 2]}, False), ("", {}, False), ("{broken", {}, True), ("[1]", {}, True),
    ('"{\\"a\\": 1}"', {"a": 1}, False),  # double-encoded (replayed Codex histories)
])
def test_tool_arguments_render_as_an_input_object(arguments, expected, is_dropped):
    request = ir.Request(model="m", messages=[user(ir.Text("q")), ir.Message("assistant", [
        ir.ToolCall("c1", "f", arguments)])])
    body, dropped = render(request)
    assert body["messages"][1]["content"][0]["input"] == expected
    assert bool(dropped) == is_dropped


@pytest.mark.parametrize("choice, parallel, expected", [
    (ir.ToolChoice("auto"), None, {"type": "auto"}), (ir.ToolChoice("required"), None, {"type": "any"}),
    (ir.ToolChoice("none"), None, {"type": "none"}), (ir.ToolChoice("tool", "f"), None, {"type": "tool", "name": "f"}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}), (None, True, None),
    (ir.ToolChoice("required"), False, {"type": "any", "disable_parallel_tool_use": True}),
])
def test_tool_choice_and_parallelism_map_to_tool_choice(choice, parallel, expected):
    request = ir.Request(model="m", messages=[user(ir.Text("q"))], tools=[ir.ToolSpec("f", "d", None)],
                         tool_choice=choice, is_parallel_tool_calls=parallel)
    body = render(request)[0]
    assert body.get("tool_choice") == expected
    assert body["tools"] == [{"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}]


def test_tool_choice_without_tools_is_not_sent():
    body = render(ir.Request(model="m", messages=[user(ir.Text("q"))], tool_choice=ir.ToolChoice("required")))[0]
    assert "tool_choice" not in body and "tools" not in body


def test_response_format_json_schema_goes_to_output_config_and_json_object_is_dropped():
    schema = {"type": "object", "properties": {}}
    body = render(ir.Request(model="m", messages=[user(ir.Text("q"))],
                             response_format=ir.ResponseFormat("json_schema", schema, "x", True)))[0]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    body, dropped = render(ir.Request(model="m", messages=[user(ir.Text("q"))],
                                      response_format=ir.ResponseFormat("json_object")))
    assert "output_config" not in body and dropped


def test_empty_messages_and_empty_text_are_not_sent():
    body, dropped = render(ir.Request(model="m", messages=[user(ir.Text(""), ir.Text("hi")), ir.Message("assistant")]))
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert dropped == ["empty assistant message"]


def test_unknown_fields_of_an_anthropic_request_pass_through_a_render():
    req = A.parse_request({"model": "m", "max_tokens": 5, "messages": [], "mcp_servers": [{"url": "u"}],
                           "container": "c1"})
    body = A.render_request(req)
    assert (body["mcp_servers"], body["container"]) == ([{"url": "u"}], "c1")


# ---- responses, stop reasons and usage


def test_parse_response_usage_counts_cache_reads_and_writes_as_input():
    resp = A.parse_response(load("response_text.json"))
    assert resp.usage == ir.Usage(input_tokens=12 + 2048 + 1000, output_tokens=27, cache_read_tokens=1000,
                                  cache_creation_tokens=2048)
    assert resp.parts[1].extras["anthropic"]["citations"][0]["cited_text"] == "The grass is green."


def test_parse_response_tool_use_and_thinking():
    resp = A.parse_response(load("response_tool_use.json"))
    thinking, text, paris, tokyo = resp.parts
    assert thinking.extras["anthropic"]["signature"].startswith("ErUB") and text.text == "I'll check both."
    assert paris.arguments == '{"location":"Paris, France","unit":"celsius"}'
    assert json.loads(tokyo.arguments)["nested"] == {"list": [1, 2.5, None, True], "unicode": "日本"}
    assert (resp.stop_reason, resp.id, resp.model) == ("tool_use", "msg_01Aq9w938a90dw8q", "claude-sonnet-4-20250514")


@pytest.mark.parametrize("wire, mapped", [
    ("end_turn", "end"), ("max_tokens", "max_tokens"), ("stop_sequence", "stop_sequence"), ("tool_use", "tool_use"),
    ("refusal", "content_filter"), ("pause_turn", "end"), ("model_context_window_exceeded", "max_tokens"),
    ("something_new", "end"), (None, None),
])
def test_stop_reasons_map_into_the_ir(wire, mapped):
    assert A.parse_response({"content": [], "stop_reason": wire}).stop_reason == mapped


@pytest.mark.parametrize("mapped, wire", [
    ("end", "end_turn"), ("max_tokens", "max_tokens"), ("stop_sequence", "stop_sequence"), ("tool_use", "tool_use"),
    ("content_filter", "refusal"), ("error", "end_turn"), (None, "end_turn"),
])
def test_stop_reasons_map_out_of_the_ir(mapped, wire):
    assert A.render_response(ir.Response(parts=[ir.Text("x")], stop_reason=mapped), None)["stop_reason"] == wire


def test_pause_turn_survives_a_same_family_round_trip_but_not_an_edit():
    resp = A.parse_response(load("response_pause_turn.json"))
    assert (resp.stop_reason, resp.extras["anthropic"]["stop_reason"]) == ("end", "pause_turn")
    resp.stop_reason = "max_tokens"
    assert A.render_response(resp, None)["stop_reason"] == "max_tokens"


@pytest.mark.parametrize("usage, wire", [
    (ir.Usage(100, 20, 40, 10), {"input_tokens": 50, "cache_creation_input_tokens": 10,
                                 "cache_read_input_tokens": 40, "output_tokens": 20}),
    (ir.Usage(5, 1, 40, None), {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 40,
                                "output_tokens": 1}),
    (ir.Usage(), {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 0}),
])
def test_usage_subtracts_cache_counts_and_never_goes_below_zero(usage, wire):
    assert A.render_response(ir.Response(usage=usage, stop_reason="end"), None)["usage"] == wire


def test_a_foreign_response_renders_as_a_complete_anthropic_message():
    resp = ir.Response(id="", model="", stop_reason="end", usage=ir.Usage(10, 5), parts=[
        ir.Reasoning("thought"), ir.Reasoning(""), ir.Refusal("no"), ir.ToolCall("call_9", "f", '{"x":1}')])
    body = A.render_response(resp, ir.Request(model="gpt-4o"))
    assert body["id"].startswith("msg_") and body["model"] == "gpt-4o"
    assert (body["type"], body["role"], body["stop_reason"], body["stop_sequence"]) == (
        "message", "assistant", "tool_use", None)
    assert body["content"] == [{"type": "thinking", "thinking": "thought", "signature": ""},
                               {"type": "text", "text": "no"},
                               {"type": "tool_use", "id": "call_9", "name": "f", "input": {"x": 1}}]


def test_a_refusal_part_renders_as_text_with_stop_reason_refusal():
    body = A.render_response(ir.Response(parts=[ir.Refusal("I can't help with that.")], stop_reason="end"), None)
    assert body["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert body["stop_reason"] == "refusal"


@pytest.mark.parametrize("obj, expected", [
    ({"type": "message", "usage": {"input_tokens": 3, "output_tokens": 4}}, ir.Usage(3, 4)),
    ({"type": "message_start", "message": {"usage": {"input_tokens": 3, "cache_read_input_tokens": 2,
                                                     "output_tokens": 1}}}, ir.Usage(5, 1, 2)),
    ({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 9}}, ir.Usage(None, 9)),
    ({"input_tokens": 7, "output_tokens": 0}, ir.Usage(7, 0)),
    ({"type": "ping"}, None), ("nonsense", None),
])
def test_parse_usage_accepts_messages_stream_payloads_and_bare_usage(obj, expected):
    assert A.parse_usage(obj) == expected


def test_render_count_tokens():
    assert A.render_count_tokens(42) == {"input_tokens": 42}


# ---- errors


@pytest.mark.parametrize("status, body, kind, message", [
    (529, load("error_overloaded.json"), "overloaded_error", "Overloaded"),
    (400, load("error_invalid_request.json"), "invalid_request_error", "max_tokens: Field required"),
    (429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
     "rate_limit_error", "Rate limit reached"),
    (429, {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
     "rate_limit_error", "Quota exceeded"),
    (503, [{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}],
     "overloaded_error", "The model is overloaded."),
    (502, "<html>Bad Gateway</html>", "api_error", "<html>Bad Gateway</html>"),
    (401, None, "authentication_error", "upstream returned HTTP 401"),
    (418, {"detail": "teapot"}, "invalid_request_error", "teapot"),
])
def test_parse_error_accepts_any_envelope(status, body, kind, message):
    error = A.parse_error(status, body)
    assert (error.status, error.kind, error.message) == (status, kind, message)


@pytest.mark.parametrize("status, kind", [
    (400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
    (404, "not_found_error"), (413, "request_too_large"), (429, "rate_limit_error"), (500, "api_error"),
    (502, "api_error"), (504, "api_error"), (529, "overloaded_error"), (422, "invalid_request_error"),
])
def test_render_error_types_follow_the_status(status, kind):
    assert A.render_error(ir.Error(status, "boom")) == {"type": "error", "error": {"type": kind, "message": "boom"}}


@pytest.mark.parametrize("name, status", [("error_overloaded.json", 529), ("error_invalid_request.json", 400)])
def test_error_fixture_round_trips_except_the_request_id(name, status):
    body = load(name)
    del body["request_id"]  # ir.Error has no field for it: lost in translation
    assert A.render_error(A.parse_error(status, load(name))) == body


def test_render_error_keeps_a_specific_anthropic_type():
    assert A.render_error(ir.Error(500, "busy", "overloaded_error"))["error"]["type"] == "overloaded_error"
