"""The YAML subset (tresor/config/yaml.py, yaml_emit.py): values, rejections, positions, round trips, write-back."""
from __future__ import annotations

import math

import pytest

from tresor.config.yaml import dumps, loads, loads_located
from tresor.errors import YamlError

INF = float("inf")

CONFIG = """\
# Tresor config
bind_addr: 127.0.0.1:11510   # where to listen
db_path: ~/.tresor.db
proxy_api_keys: []
log_level: info
downstreams:
  # OpenAI
  - id: openai
    name: OpenAI
    base_url: https://api.openai.com
    api_key: sk-xxx
    api_formats: [openai, openai_responses]
    output_model_ids:
      - gpt-4o
      - "gpt-4.1"
    format_urls:
      openai_responses: https://api.openai.com/v1
rules:
  - id: r1
    name: add header
    pattern_path: /v1/chat/completions
    pipeline_config:
      - plugin_id: custom_header
        config: {headers: {X-Test: "1"}}
    is_enabled: true
aliases:
  - input_model_id: claude-.*
    is_regex: true
    options:
      - id: a1
        downstream_id: openai
        output_model_id: gpt-4o
# trailing
# commented example:
#   - id: x
"""

VALUES = [
    # documents
    ("", None),
    ("# only\n\n# comments\n", None),
    ("---\n", None),
    ("---\na: 1\n", {"a": 1}),
    ("# head\n--- # doc\na: 1\n", {"a": 1}),
    ("\ufeffa: 1\n", {"a": 1}),
    ("a: 1\r\nb:\r\n  - x\r\n", {"a": 1, "b": ["x"]}),
    ("a: 1", {"a": 1}),
    ("hello world\n", "hello world"),
    ("- a\n- b\n", ["a", "b"]),
    ("[1, 2]\n", [1, 2]),
    ("  a: 1\n  b: 2\n", {"a": 1, "b": 2}),
    # block mappings
    ("a: 1\nb: two\n", {"a": 1, "b": "two"}),
    ("a:\n  b:\n    c: deep\n  d: 2\ne: 3\n", {"a": {"b": {"c": "deep"}, "d": 2}, "e": 3}),
    ("a:\n    b: 1\n    c: 2\n", {"a": {"b": 1, "c": 2}}),
    ("a:\nb: 1\n", {"a": None, "b": 1}),
    ("a: 1\nb:\n", {"a": 1, "b": None}),
    ("a:   \n", {"a": None}),
    ("a:\n  scalar on next line\n", {"a": "scalar on next line"}),
    ("a:\tb\n", {"a": "b"}),
    ('"quoted key": 1\n\'single\': 2\n', {"quoted key": 1, "single": 2}),
    ("2: two\n2.5: x\ntrue: t\nnull: n\n", {2: "two", 2.5: "x", True: "t", None: "n"}),
    ("key with spaces: v\n", {"key with spaces": "v"}),
    ("a:b: c\n", {"a:b": "c"}),
    # block sequences
    ("a:\n  - x\n  - y\n", {"a": ["x", "y"]}),
    ("a:\n- x\n- y\nb: 2\n", {"a": ["x", "y"], "b": 2}),
    ("- id: a\n  name: A\n- id: b\n", [{"id": "a", "name": "A"}, {"id": "b"}]),
    ("-   id: a\n    n: 1\n", [{"id": "a", "n": 1}]),
    ("- - a\n  - b\n- c\n", [["a", "b"], "c"]),
    ("-\n  a: 1\n-\n- x\n", [{"a": 1}, None, "x"]),
    ("- a:\n  - 1\n  - 2\n  b: 3\n", [{"a": [1, 2], "b": 3}]),
    ("- a:\n    - 1\n", [{"a": [1]}]),
    ("a:\n  - b:\n      - c: 1\n", {"a": [{"b": [{"c": 1}]}]}),
    ("- []\n- {}\n", [[], {}]),
    # flow collections
    ('a: [a, "b", 1]\n', {"a": ["a", "b", 1]}),
    ("a: {a: 1, b: [x]}\n", {"a": {"a": 1, "b": ["x"]}}),
    ("a: [[1, [2]], {b: {c: d}}]\n", {"a": [[1, [2]], {"b": {"c": "d"}}]}),
    ("a: [1,\n  # comment\n  2,\n]\n", {"a": [1, 2]}),
    ("a: {x: 1,\n    y: 2}  # note\nb: 3\n", {"a": {"x": 1, "y": 2}, "b": 3}),
    ("a: []\nb: {}\n", {"a": [], "b": {}}),
    ("a: {a, b: 1, c: }\n", {"a": {"a": None, "b": 1, "c": None}}),
    ("a: [http://x:8080/a, qwen3.5:9b]\n", {"a": ["http://x:8080/a", "qwen3.5:9b"]}),
    ('a: {"k": "v", \'q\': x y}\n', {"a": {"k": "v", "q": "x y"}}),
    ('a: {"k":1}\n', {"a": {"k": 1}}),
    ("a: [ a , b ]\n", {"a": ["a", "b"]}),
    # plain scalars
    ("a: hello world\n", {"a": "hello world"}),
    ("a: https://x:8080/a\n", {"a": "https://x:8080/a"}),
    ("a: qwen3.5:9b\n", {"a": "qwen3.5:9b"}),
    ("a: http://a/#x\n", {"a": "http://a/#x"}),
    ("a: b # comment\n", {"a": "b"}),
    ("a: b#c\n", {"a": "b#c"}),
    ("a: it's\n", {"a": "it's"}),
    ("a: -x\nb: ?y\nc: :z\n", {"a": "-x", "b": "?y", "c": ":z"}),
    ("a: ~/.tresor.db\n", {"a": "~/.tresor.db"}),
    ("a: 127.0.0.1:11510\n", {"a": "127.0.0.1:11510"}),
    ("a: claude-.*\n", {"a": "claude-.*"}),
    # quoted scalars
    ("a: 'it''s # not a comment'\n", {"a": "it's # not a comment"}),
    ("a: ''\nb: \"\"\n", {"a": "", "b": ""}),
    ('a: "\\\\ \\" \\n \\t \\r \\/"\n', {"a": '\\ " \n \t \r /'}),
    ('a: "\\0\\x41\\u00e9\\U0001F600"\n', {"a": "\0A\u00e9\U0001F600"}),
    ('a: "true"\nb: \'1\'\n', {"a": "true", "b": "1"}),
    ('a: "x"  # note\n', {"a": "x"}),
    ("a: 'back\\slash'\n", {"a": "back\\slash"}),
    ("a: é ü 中文\n", {"a": "é ü 中文"}),
    # core schema
    ("a: 12\nb: -7\nc: +3\nd: 012\n", {"a": 12, "b": -7, "c": 3, "d": 12}),
    ("a: 0x1F\nb: 0o17\nc: -0x10\n", {"a": 31, "b": 15, "c": -16}),
    ("a: 1.5\nb: 1e3\nc: -2.5E-3\nd: .5\ne: 1.\n", {"a": 1.5, "b": 1000.0, "c": -0.0025, "d": 0.5, "e": 1.0}),
    ("a: .inf\nb: -.inf\nc: +.Inf\n", {"a": INF, "b": -INF, "c": INF}),
    ("a: true\nb: True\nc: TRUE\nd: false\ne: False\nf: FALSE\n",
     {"a": True, "b": True, "c": True, "d": False, "e": False, "f": False}),
    ("a: yes\nb: no\nc: on\nd: off\ne: tRUE\n", {"a": "yes", "b": "no", "c": "on", "d": "off", "e": "tRUE"}),
    ("a: null\nb: Null\nc: NULL\nd: ~\ne:\n", {"a": None, "b": None, "c": None, "d": None, "e": None}),
    ("a: 1_000\nb: 0x\nc: 1.2.3\nd: 0b11\n", {"a": "1_000", "b": "0x", "c": "1.2.3", "d": "0b11"}),
    # block scalars
    ("a: |\n  line 1\n  line 2\nb: 1\n", {"a": "line 1\nline 2\n", "b": 1}),
    ("a: |-\n  x\n\n  y\n\n\nb: 1\n", {"a": "x\n\ny", "b": 1}),
    ("a: |+\n  x\n\n\nb: 1\n", {"a": "x\n\n\n", "b": 1}),
    ("a: >\n  folded\n  text\n\n  para\n", {"a": "folded text\npara\n"}),
    ("a: >-\n  x\n    more\n  y\n", {"a": "x\n  more\ny"}),
    ("a: |2\n   lead\n  x\n", {"a": " lead\nx\n"}),
    ("a: |  # note\n  # not a comment\n", {"a": "# not a comment\n"}),
    ("- |\n  item\n- >-\n  b\n", ["item\n", "b"]),
    ("- k: |\n    v\n  j: 2\n", [{"k": "v\n", "j": 2}]),
    ("a: |\nb: 1\n", {"a": "", "b": 1}),
    # comments
    ("# c\na: 1  # c\n# c\n  # indented\nb:  # c\n  - x  # c\n  # c\n", {"a": 1, "b": ["x"]}),
]


@pytest.mark.parametrize("text,expected", VALUES)
def test_loads(text, expected):
    assert loads(text) == expected


def test_loads_nan_and_key_order():
    assert math.isnan(loads("a: .nan\n")["a"]) and math.isnan(loads("[.NaN]")[0])
    assert list(loads("z: 1\na: 2\nm: 3\n")) == ["z", "a", "m"]


ERRORS = [
    # (text, line, col, message substring)
    ("a: &x 1\n", 1, 4, "anchors"),
    ("&x a: 1\n", 1, 1, "anchors"),
    ("a: &x\n  b: 1\n", 1, 4, "anchors"),
    ("a: *x\n", 1, 4, "aliases"),
    ("- *x\n", 1, 3, "aliases"),
    ("a: [*x]\n", 1, 5, "aliases"),
    ("a: !!str 1\n", 1, 4, "tags"),
    ("- !x y\n", 1, 3, "tags"),
    ("<<: {a: 1}\n", 1, 1, "merge keys"),
    ("b:\n  <<: {a: 1}\n", 2, 3, "merge keys"),
    ("a: 1\n---\nb: 2\n", 2, 1, "multiple documents"),
    ("---\n---\na: 1\n", 2, 1, "multiple documents"),
    ("--- a: 1\n", 1, 5, "'---'"),
    ("a: 1\n...\n", 2, 1, "document end marker"),
    ("%YAML 1.2\n---\na: 1\n", 1, 1, "directives"),
    ("a:\n\tb: 1\n", 2, 1, "tab"),
    ("a:\n  \tb: 1\n", 2, 3, "tab"),
    ("- a\n\t- b\n", 2, 1, "tab"),
    ("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a'"),
    ("x:\n  a: 1\n  a: 2\n", 3, 3, "duplicate key"),
    ("a: {k: 1, k: 2}\n", 1, 11, "duplicate key"),
    ("? a\n: b\n", 1, 1, "complex mapping keys"),
    ("- ? a\n", 1, 3, "complex mapping keys"),
    ("a: {[1]: 2}\n", 1, 5, "complex mapping keys"),
    ("a: 1\n  b: 2\n", 2, 3, "indentation"),
    ("a:\n    b: 1\n  c: 2\n", 3, 3, "indentation"),
    ("- a\n  - b\n", 2, 3, "indentation"),
    ("a:\n  - x\n - y\n", 3, 2, "indentation"),
    ("a: 1\n  # comment\n b: 2\n", 3, 2, "indentation"),
    ("  a: 1\nb: 2\n", 2, 1, "indentation"),
    ('a: "abc\n', 1, 4, "unterminated double-quoted"),
    ("a: 'abc\n", 1, 4, "unterminated single-quoted"),
    ('a: "x\n  y"\n', 1, 4, "unterminated double-quoted"),
    ('"key: 1\n', 1, 1, "unterminated double-quoted"),
    ("a: [1, 2\n", 1, 4, "unterminated flow sequence"),
    ("a: {x: 1\n", 1, 4, "unterminated flow mapping"),
    ("a: [1,\n  [2, 3]\n", 1, 4, "unterminated flow sequence"),
    ("a: [1, 2\nb: 3\n", 2, 1, "expected ',' or ']'"),
    ("a:\n  - x\n  b: 1\n", 3, 3, "cannot share"),
    ("- x\nb: 1\n", 2, 1, "cannot share"),
    ("a: 1\n- x\n", 2, 1, "cannot share"),
    ('a: "x" y\n', 1, 8, "unexpected text after the value"),
    ("a: 'x'#c\n", 1, 7, "unexpected text after the value"),
    ("a: [1] x\n", 1, 8, "unexpected text after the value"),
    ("a: {b: 1}}\n", 1, 10, "unexpected text after the value"),
    ('- "a" b\n', 1, 7, "unexpected text after the value"),
    ('a: "\\q"\n', 1, 5, "invalid escape"),
    ('a: "\\x4"\n', 1, 5, "invalid escape"),
    ('a: "\\u12G4"\n', 1, 5, "invalid escape"),
    ('a: "x\\\n', 1, 6, "invalid escape"),
    ("a: @x\n", 1, 4, "reserved"),
    ("a: `x`\n", 1, 4, "reserved"),
    ("- [@x]\n", 1, 4, "reserved"),
    ("@k: 1\n", 1, 1, "reserved"),
    ("a: %x\n", 1, 4, "cannot start a plain value"),
    ("a: b: c\n", 1, 5, "':' followed by a space"),
    ("a: - b\n", 1, 4, "sequence item cannot start here"),
    ("a: |x\n  y\n", 1, 5, "invalid block scalar header"),
    ("a: 1\nb\n", 2, 1, "expected 'key: value'"),
    ("a: 1\n'b' c: 2\n", 2, 5, "expected ':'"),
    ("hello\nworld\n", 2, 1, "unexpected content after the top-level value"),
    ("a: [1, :]\n", 1, 8, "expected a value"),
]


@pytest.mark.parametrize("text,line,col,message", ERRORS)
def test_rejections_point_at_line_and_column(text, line, col, message):
    with pytest.raises(YamlError) as caught:
        loads(text, path="cfg.yaml")
    err = caught.value
    assert (err.line, err.col) == (line, col), str(err)
    assert message in err.message
    assert err.hint, "every error carries a hint"
    assert err.path == "cfg.yaml"
    assert str(err).startswith("cfg.yaml:%d:%d: " % (line, col))


def test_error_defaults_and_hints():
    with pytest.raises(YamlError) as caught:
        loads("a: &x 1\n")
    assert str(caught.value).startswith("<string>:1:4: ")
    assert "repeat the value instead" in caught.value.hint
    with pytest.raises(YamlError) as caught:
        loads("a:\n\tb: 1\n")
    assert caught.value.hint == "indent with spaces, not tabs"
    with pytest.raises(YamlError) as caught:
        loads("name: a\nid: 1\nname: b\n")
    assert "line 1" in caught.value.hint


def test_loads_located_positions():
    value, pos = loads_located(CONFIG, path="c.yaml")
    assert value == loads(CONFIG)
    assert pos[("bind_addr",)] == (2, 1)
    assert pos[("downstreams",)] == (6, 1)
    assert pos[("downstreams", 0)] == (8, 3)
    assert pos[("downstreams", 0, "id")] == (8, 5)
    assert pos[("downstreams", 0, "base_url")] == (10, 5)
    assert pos[("downstreams", 0, "api_formats", 1)] == (12, 27)
    assert pos[("downstreams", 0, "output_model_ids", 1)] == (15, 7)
    assert pos[("downstreams", 0, "format_urls", "openai_responses")] == (17, 7)
    assert pos[("rules", 0, "pipeline_config", 0, "config", "headers", "X-Test")] == (24, 28)
    assert pos[("aliases", 0, "options", 0, "output_model_id")] == (32, 9)
    assert pos[()] == (2, 1)


def test_loads_located_flat_sequence_and_crlf():
    _, pos = loads_located("a:\r\n- x\r\n- k: v\r\n  j: w\r\n")
    assert pos[("a", 0)] == (2, 1)
    assert pos[("a", 1, "j")] == (4, 3)


ROUND_TRIPS = [
    None, True, False, 0, -5, 2 ** 70, 1.0, 1e-07, 1e16, -0.5, INF, -INF, "", " ", " lead", "trail ",
    "true", "True", "false", "null", "Null", "~", "yes", "no", "123", "-1", "0x1F", "0o7", "1.5", "1e3",
    ".inf", "-.inf", ".nan", "1_000", "a: b", "a:", ":a", "a #b", "#x", "a#b", "- x", "-", "?", "? x",
    "'q'", '"dq"', "it's", "x\"y", "line1\nline2", "tab\there", "cr\r", "\0nul", "\x07bell", "[a]", "{a}",
    "a, b", "&anchor", "*alias", "!tag", "%pct", "@at", "`tick`", "|", ">", "---", "...", "<<",
    "é ü 中文 😀", "\u00a0nbsp", "\u2028sep", "\ufeffbom", "\ud800", "\\back\\slash", "http://x:80/#f",
    "qwen3.5:9b", "a" * 300,
    [], {}, [[]], [{}], {"a": []}, {"a": {}}, {"a": {"b": {}}}, [[[]]], [[1, 2], [3]], [None, [None]],
    {"": ""}, {"true": 1, "1": 2, "null": 3, "a: b": 4, "x\ny": 5, "<<": 6, "- k": 7, " ": 8},
    {"list": [{"id": "a", "tags": ["x", "y"], "nested": {"deep": [1, 2.5, None]}}, {"id": "b"}]},
    [{"a": [1, 2]}, {"b": {"c": [{}]}}], {"k": [["a", "b"], ["c"]], "e": [[], {}]},
    {"mixed": [1, "1", 1.0, True, None, "", [], {}]}, [{"a": {"b": [{"c": "d"}]}}],
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=repr)
def test_round_trip(value):
    text = dumps(value)
    assert loads(text) == value, text
    assert type(loads(text)) is type(value)
    assert dumps(loads(text), template=text) == text


def test_round_trip_nan_and_types():
    assert math.isnan(loads(dumps(float("nan"))))
    back = loads(dumps({"a": 1, "b": 1.0, "c": True}))
    assert [type(v) for v in back.values()] == [int, float, bool]


EMIT = [
    ({"a": 1, "b": [1, "x"], "c": {"d": None}}, "a: 1\nb:\n  - 1\n  - x\nc:\n  d: null\n"),
    ({"a": [], "b": {}}, "a: []\nb: {}\n"),
    ([{"id": "a", "n": [1]}, {"id": "b"}], "- id: a\n  n:\n    - 1\n- id: b\n"),
    ([[1, 2], [3]], "- - 1\n  - 2\n- - 3\n"),
    ({"s": "true", "t": "x: y", "u": "a\nb", "v": "", "w": "é"},
     's: "true"\nt: "x: y"\nu: "a\\nb"\nv: ""\nw: é\n'),
    ({"f": 1.0, "g": 1e-07, "h": INF, "i": -INF}, "f: 1.0\ng: 1e-07\nh: .inf\ni: -.inf\n"),
    ("plain", "plain\n"),
    (None, "null\n"),
    ({}, "{}\n"),
]


@pytest.mark.parametrize("value,text", EMIT)
def test_dumps_canonical_style(value, text):
    assert dumps(value) == text


def test_dumps_rejects_non_json_values():
    with pytest.raises(TypeError):
        dumps({"a": object()})


def test_config_round_trips_with_template():
    assert dumps(loads(CONFIG), template=CONFIG) == CONFIG


CANONICAL = [
    CONFIG,
    "# head\n\n# about a\na: 1\n",
    "---\n# doc\na: 1\n",
    "a: |\n  line 1\n  line 2\n\nb: >-\n  folded\n  text\nc: |+\n  kept\n\n",
    "- |\n  in a list\n- k: |-\n    v\n",
    "list:\n- a\n- b  # note\nnext: 1\n",
    '"quoted key": 1\n\'single\': \'x\'\nhex: 0x1F\nnull_ish: ~\n',
    "flow: [1,\n  # inside\n  2]  # after\nb: {x: 1}\n",
    "a:  # about a\n  - x\n  -  # about item\n    k: v\n",
    "a:\n  b:\n    - 1\n    # commented\n  # c-level\n# root-level\nz: 2\n",
    "a: 1\n\n\nb: 2\n\n",
    "# only comments\n",
    "top\n# after\n",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_template_reproduces_itself(text):
    assert dumps(loads(text), template=text) == text


TEMPLATE = """\
# Tresor config
bind_addr: 127.0.0.1:11510  # where to listen
log_level: info

# Providers
downstreams:
  # OpenAI
  - id: openai
    base_url: https://api.openai.com  # official
    api_formats: [openai, openai_responses]
    output_model_ids:
      - gpt-4o  # default
      - gpt-4.1
  # Local llama
  - id: local
    base_url: http://localhost:8080
  # - id: example
  #   base_url: http://example
rules: []
# trailing comment
"""


def _edit(change):
    value = loads(TEMPLATE)
    change(value)
    return dumps(value, template=TEMPLATE)


def test_write_back_changed_scalar_keeps_inline_comment():
    def change(v):
        v["bind_addr"] = "0.0.0.0:8080"
        v["downstreams"][0]["base_url"] = "https://api.openai.com/v2"
    out = _edit(change)
    expected = TEMPLATE.replace("127.0.0.1:11510", "0.0.0.0:8080").replace(
        "api.openai.com  # official", "api.openai.com/v2  # official")
    assert out == expected


def test_write_back_removed_item_loses_its_comment():
    out = _edit(lambda v: v["downstreams"].pop(0))
    assert out == TEMPLATE.replace(
        "  # OpenAI\n  - id: openai\n    base_url: https://api.openai.com  # official\n"
        "    api_formats: [openai, openai_responses]\n"
        "    output_model_ids:\n      - gpt-4o  # default\n      - gpt-4.1\n", "")


def test_write_back_added_item_goes_before_section_trailing_comments():
    out = _edit(lambda v: v["downstreams"].append({"id": "new", "base_url": "http://new"}))
    assert out == TEMPLATE.replace(
        "  # - id: example\n", "  - id: new\n    base_url: http://new\n  # - id: example\n")


def test_write_back_new_keys_are_appended():
    def change(v):
        v["db_path"] = "~/.tresor.db"
        v["downstreams"][1]["api_key"] = "sk-1"
        v["rules"] = [{"id": "r1", "is_enabled": True}]
    out = _edit(change)
    expected = TEMPLATE.replace(
        "    base_url: http://localhost:8080\n",
        "    base_url: http://localhost:8080\n    api_key: sk-1\n").replace(
        "rules: []\n", "rules:\n  - id: r1\n    is_enabled: true\ndb_path: ~/.tresor.db\n")
    assert out == expected


def test_write_back_removed_key_and_flow_list_change():
    def change(v):
        del v["log_level"]
        v["downstreams"][0]["api_formats"] = ["openai", "anthropic"]
    out = _edit(change)
    expected = TEMPLATE.replace("log_level: info\n", "").replace(
        "[openai, openai_responses]", "[openai, anthropic]")
    assert out == expected


def test_write_back_reorder_follows_value_and_moves_comments():
    def change(v):
        v["downstreams"].reverse()
        v["downstreams"][1]["output_model_ids"].reverse()
        v["log_level"], v["bind_addr"] = v.pop("log_level"), v.pop("bind_addr")  # dict order changes
    out = _edit(change)
    assert out == """\
# Tresor config
bind_addr: 127.0.0.1:11510  # where to listen
log_level: info

# Providers
downstreams:
  # Local llama
  - id: local
    base_url: http://localhost:8080
  # OpenAI
  - id: openai
    base_url: https://api.openai.com  # official
    api_formats: [openai, openai_responses]
    output_model_ids:
      - gpt-4.1
      - gpt-4o  # default
  # - id: example
  #   base_url: http://example
rules: []
# trailing comment
"""


def test_write_back_emptied_section_keeps_its_trailing_comments():
    out = _edit(lambda v: v.update(downstreams=[]))
    assert out == """\
# Tresor config
bind_addr: 127.0.0.1:11510  # where to listen
log_level: info

# Providers
downstreams: []
  # - id: example
  #   base_url: http://example
rules: []
# trailing comment
"""
    assert loads(out)["downstreams"] == []


def test_write_back_matches_items_by_identity_and_index():
    template = ("plugins:\n  # first\n  - plugin_id: a\n  # second\n  - plugin_id: b\n"
                "pairs:\n  # p0\n  - [1, 2]\n  # p1\n  - [3]\n")
    value = {"plugins": [{"plugin_id": "b"}, {"plugin_id": "c"}], "pairs": [[9], [3]]}
    assert dumps(value, template=template) == (
        "plugins:\n  # second\n  - plugin_id: b\n  - plugin_id: c\n"
        "pairs:\n  # p0\n  - [9]\n  # p1\n  - [3]\n")


def test_write_back_header_survives_first_key_removal():
    template = "# header\n\n# about a\na: 1\nb: 2  # bee\n# footer\n"
    assert dumps({"b": 3}, template=template) == "# header\n\nb: 3  # bee\n# footer\n"


def test_write_back_keeps_value_type_changes_readable():
    template = "a: 1  # note\nb:\n  - x\n"
    out = dumps({"a": [1, 2], "b": "now scalar"}, template=template)
    assert out == "a:  # note\n  - 1\n  - 2\nb: now scalar\n"
    assert loads(out) == {"a": [1, 2], "b": "now scalar"}


def test_write_back_with_bad_template_raises():
    with pytest.raises(YamlError):
        dumps({"a": 1}, template="a: &x 1\n")
