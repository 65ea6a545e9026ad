"""store/rules.py: Rule round-trips, one column per list field, and version bumps."""
import dataclasses

import pytest

from tresor.config.model import PipelineStep, Rule
from tresor.store import rules

FULL = Rule(id="r1", name="Rule", pattern_path="/v1/messages", pattern_models=("claude", "gpt"),
            match_format=("anthropic",), match_downstream_format=("openai", "gemini"),
            match_downstreams=("ds",), is_enabled=False,
            pipeline_config=(PipelineStep("custom_header", {"headers": {"X-Ä": "1"}}),
                             PipelineStep("remove_thinking")))


def test_upsert_then_get_round_trips_every_field(conn):
    rules.upsert(conn, FULL, 0)
    assert rules.get(conn, "r1") == FULL
    assert rules.get(conn, "missing") is None


def test_pipeline_config_is_compact_json_with_config_omitted_when_none(conn):
    rules.upsert(conn, FULL, 0)
    text = conn.execute("SELECT pipeline_config FROM rules").fetchone()[0]
    assert text == '[{"plugin_id":"custom_header","config":{"headers":{"X-Ä":"1"}}},{"plugin_id":"remove_thinking"}]'


def test_decode_pipeline_reads_the_go_projects_spacing():
    text = '[ {"plugin_id": "custom_header", "config": {"a": 1}} ]'
    assert rules.decode_pipeline(text) == (PipelineStep("custom_header", {"a": 1}),)


@pytest.mark.parametrize("field", ["pattern_models", "match_format", "match_downstream_format", "match_downstreams"])
def test_equal_list_fields_each_keep_their_own_column(conn, field):
    # The Go write-back matched columns by JSON text and lost one of two equal lists (reference §1.9).
    values = dict(pattern_models=("anthropic",), match_format=("anthropic",),
                  match_downstream_format=("anthropic",), match_downstreams=("anthropic",))
    values[field] = ("other",)
    rule = Rule("r", "R", **values)
    rules.upsert(conn, rule, 0)
    assert rules.get(conn, "r") == rule


def test_new_rule_is_version_1_and_unchanged_upsert_keeps_it(conn):
    assert rules.upsert(conn, FULL, 0) == 1
    assert rules.upsert(conn, FULL, 0) == 1
    assert rules.get_version(conn, "r1") == 1


def test_content_change_bumps_version_but_position_change_does_not(conn):
    rules.upsert(conn, FULL, 0)
    assert rules.upsert(conn, FULL, 3) == 1
    assert rules.upsert(conn, dataclasses.replace(FULL, name="New"), 3) == 2
    assert conn.execute("SELECT position FROM rules").fetchone()[0] == 3


def test_list_follows_position_and_includes_disabled_rules(conn):
    rules.upsert(conn, Rule("b", "B"), 1)
    rules.upsert(conn, Rule("a", "A", is_enabled=False), 0)
    assert [r.id for r in rules.list_(conn)] == ["a", "b"]


def test_list_enabled_with_version_skips_disabled_rules(conn):
    rules.upsert(conn, Rule("on", "On"), 0)
    rules.upsert(conn, Rule("off", "Off", is_enabled=False), 1)
    rules.upsert(conn, Rule("on", "On", pattern_path="/v1/x"), 0)
    assert rules.list_enabled_with_version(conn) == [(Rule("on", "On", pattern_path="/v1/x"), 2)]


def test_set_enabled_bumps_version_only_on_a_change(conn):
    rules.upsert(conn, Rule("r", "R"), 0)
    assert rules.set_enabled(conn, "r", True) is True
    assert rules.get_version(conn, "r") == 1
    assert rules.set_enabled(conn, "r", False) is True
    assert (rules.get(conn, "r").is_enabled, rules.get_version(conn, "r")) == (False, 2)
    assert rules.set_enabled(conn, "missing", True) is False


def test_delete_reports_whether_the_rule_existed(conn):
    rules.upsert(conn, Rule("r", "R"), 0)
    assert rules.delete(conn, "r") is True
    assert rules.delete(conn, "r") is False
    assert rules.list_(conn) == []
