"""Config validation: every key, defaults, legacy migration, and errors naming file:line:col."""
import pytest

from tresor import config as config_io
from tresor.config.model import SETTINGS, Config
from tresor.errors import ConfigError

GO_STYLE = """\
bind_addr: 127.0.0.1:11510
db_path: ~/.tresor.db
proxy_mode: env
proxy_api_keys: [k1, k2]
log_level: debug
capture_payloads: true
downstreams:
  - id: openai
    name: OpenAI
    base_url: https://api.openai.com
    api_key: sk-test
    api_formats: [openai, openai_responses]
    output_model_ids: [gpt-4o, gpt-4o-mini]
    format_urls:
      openai_responses: https://api.openai.com/v1
  - id: legacy
    name: Legacy
    base_url: http://127.0.0.1:8080
    api_format: anthropic
rules:
  - id: r1
    name: header
    pattern_path: /v1/chat/completions
    pattern_model: gpt-4o
    match_format: [openai]
    pipeline_config:
      - plugin_id: custom_header
        config: {headers: {X-A: "1"}}
    is_enabled: false
aliases:
  - input_model_id: claude-.*
    is_regex: true
    announced_names: [claude-fast]
    options:
      - id: a1
        downstream_id: openai
        output_model_id: gpt-4o
"""


def test_empty_config_gets_every_default():
    config = config_io.loads("", "c.yaml")
    for setting in SETTINGS:
        assert getattr(config, setting.name) == setting.default, setting.name
    assert config.bind_addr == "127.0.0.1:11510"
    assert (config.downstreams, config.rules, config.aliases) == ((), (), ())


def test_go_style_config_loads_with_legacy_keys_migrated():
    config = config_io.loads(GO_STYLE, "c.yaml")
    openai, legacy = config.downstreams
    assert openai.api_formats == ("openai", "openai_responses")
    assert openai.format_urls == {"openai_responses": "https://api.openai.com/v1"}
    assert legacy.api_formats == ("anthropic",)
    rule = config.rules[0]
    assert rule.pattern_models == ("gpt-4o",) and rule.is_enabled is False
    assert rule.pipeline_config[0].plugin_id == "custom_header"
    assert rule.pipeline_config[0].config == {"headers": {"X-A": "1"}}
    assert config.aliases[0].is_regex and config.aliases[0].announced_names == ("claude-fast",)
    assert config.proxy_api_keys == ("k1", "k2") and config.capture_payloads is True


def test_pipeline_config_as_json_string_is_accepted():
    text = 'rules:\n  - id: r\n    pipeline_config: \'[{"plugin_id": "remove_thinking"}]\'\n'
    assert config_io.loads(text).rules[0].pipeline_config[0].plugin_id == "remove_thinking"


@pytest.mark.parametrize("text, line, col, needle", [
    ("bind_adr: 1.2.3.4:5\n", 1, 1, "did you mean 'bind_addr'"),
    ("log_level: loud\n", 1, 1, "log_level must be one of"),
    ("capture_payloads: yes\n", 1, 1, "must be true or false"),
    ("bind_addr: localhost\n", 1, 1, "host:port"),
    ("max_body_bytes: -1\n", 1, 1, "non-negative"),
    ("downstreams:\n  - id: a\n    base_url: ftp://x\n", 3, 5, "http:// or https://"),
    ("downstreams:\n  - name: a\n    base_url: http://x\n", 2, 3, "downstreams[0].id is required"),
    ("downstreams:\n  - id: a\n    base_url: http://x\n    api_formats: [grpc]\n", 4, 19, "'grpc' is not allowed"),
    ("downstreams:\n  - id: a\n    base_url: http://x\n  - id: a\n    base_url: http://y\n", 4, 5,
     "duplicate downstream id 'a'"),
    ("downstreams:\n  - id: a\n    base_urll: http://x\n", 3, 5, "did you mean 'base_url'"),
    ("downstreams: {a: 1}\n", 1, 1, "downstreams must be a list"),
    ("rules:\n  - id: r\n    pattern_path: v1/x\n", 3, 5, "pattern_path must be '*'"),
    ("rules:\n  - id: r\n    match_format: [soap]\n", 3, 20, "'soap' is not allowed"),
    ("rules:\n  - id: r\n    pipeline_config: '[oops'\n", 3, 5, "not valid JSON"),
    ("aliases:\n  - input_model_id: '('\n    is_regex: true\n", 2, 5, "invalid regex"),
    ("aliases:\n  - input_model_id: m\n    announced_names: [x]\n", 3, 5, "only allowed on regex"),
    ("aliases:\n  - input_model_id: ^c\n    is_regex: true\n    announced_names: [x]\n", 4, 23, "does not match"),
    ("aliases:\n  - input_model_id: m\n    options:\n      - id: o\n        downstream_id: d\n", 4, 7,
     "output_model_id is required"),
])
def test_invalid_values_name_file_line_col_and_what_is_allowed(text, line, col, needle):
    with pytest.raises(ConfigError) as info:
        config_io.loads(text, "cfg.yaml")
    err = info.value
    assert (err.line, err.col) == (line, col), str(err)
    assert needle in str(err)
    assert str(err).startswith("cfg.yaml:%d:%d: " % (line, col))


def test_yaml_syntax_errors_carry_the_file_name():
    with pytest.raises(ConfigError) as info:
        config_io.loads("a: &x 1\n", "my.yaml")
    assert str(info.value).startswith("my.yaml:1:")


def test_config_replace_returns_a_new_value():
    config = Config()
    assert config.replace(log_level="debug").log_level == "debug" and config.log_level == "info"
