"""Rules through the running gateway: custom_header reaches the upstream, filters limit where it fires."""
import openai
import pytest

from tests.clients import canned

RULES = """\
rules:
  - id: tag-chat
    name: tag chat traffic to oa
    pattern_path: /v1/chat/completions
    match_downstreams: [oa]
    pipeline_config:
      - plugin_id: custom_header
        config: {headers: {X-Tresor-Test: tagged}}
  - id: force-key
    pattern_path: "*"
    pattern_models: [claude-x]
    pipeline_config:
      - plugin_id: custom_header
        config: {headers: {x-api-key: rule-key}}
"""


def _chat(gateway, model):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def test_custom_header_rule_reaches_the_upstream(make_gateway, upstream):
    gateway = make_gateway(RULES)
    upstream.enqueue(200, canned.OPENAI_TEXT)
    _chat(gateway, "gpt-x")
    assert upstream.requests[-1]["headers"]["x-tresor-test"] == "tagged"
    assert b'"gpt-x"' in upstream.requests[-1]["body"]
    assert gateway.app.log.recent(1)[0]["rule_ids"] == ["tag-chat"]


def test_rule_limited_by_match_downstreams_does_not_fire_for_another_downstream(make_gateway, upstream):
    gateway = make_gateway(RULES)
    upstream.enqueue(200, canned.ANTHROPIC_TEXT)
    _chat(gateway, "claude-x")  # translated openai -> anthropic, downstream "ant"
    sent = upstream.requests[-1]["headers"]
    assert "x-tresor-test" not in sent
    assert sent["x-api-key"] == "rule-key"  # a rule-set key wins over the downstream's own key


def test_unknown_plugin_in_config_is_rejected_at_load_with_line_and_valid_ids(tmp_path):
    from tresor import config as config_io, plugins
    from tresor.errors import ConfigError
    path = tmp_path / "c.yaml"
    path.write_text("rules:\n  - id: r\n    pipeline_config:\n      - plugin_id: custom_headr\n")
    with pytest.raises(ConfigError) as info:
        config_io.load(str(path), plugins.create)
    assert str(info.value).startswith("%s:4:9: unknown plugin_id 'custom_headr'" % path)
    assert "did you mean 'custom_header'" in str(info.value) and "valid ids: custom_header" in str(info.value)


def test_remove_thinking_rule_strips_reasoning_from_a_streamed_anthropic_response(make_gateway, upstream):
    import anthropic
    gateway = make_gateway("rules:\n  - id: no-think\n    pattern_path: /v1/messages\n    pipeline_config:\n"
                           "      - plugin_id: remove_thinking\n")
    upstream.enqueue(200, canned.anthropic_stream([
        ({"type": "thinking", "thinking": "", "signature": ""},
         [{"type": "thinking_delta", "thinking": "secret plan"}, {"type": "signature_delta", "signature": "c2ln"}]),
        ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "Answer"}])]))
    client = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0)
    with client.messages.stream(model="claude-x", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["text"]
    assert final.content[0].text == "Answer" and final.stop_reason == "end_turn"
