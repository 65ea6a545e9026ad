"""store/sync.py: the startup merge of config.yaml into SQLite (reference §1.8) and the snapshot back."""
import pytest

from tresor.config.model import AliasGroup, AliasOption, Config, Downstream, PipelineStep, Rule
from tresor.errors import ConfigError
from tresor.store import aliases, downstreams, rules, sync

DS_A = Downstream("a", "A", "https://a.example", "key-a", ("anthropic",), {"openai": "https://oa.example"},
                  ("claude-x", "claude-y"))
DS_B = Downstream("b", "B", "https://b.example", output_model_ids=("gpt-x",))
RULE = Rule("r1", "Both anthropic", "/v1/messages", ("claude-x",), match_format=("anthropic",),
            match_downstream_format=("anthropic",), match_downstreams=("a",),
            pipeline_config=(PipelineStep("custom_header", {"h": "v"}), PipelineStep("remove_thinking")))
RULE_2 = Rule("r2", "Off", is_enabled=False)
GPT = AliasGroup("gpt", (AliasOption("g1", "b", "gpt-x"), AliasOption("g2", "a", "claude-x")))
CLAUDE = AliasGroup("^claude-", (AliasOption("c1", "a", "claude-y"),), is_regex=True, announced_names=("claude-z",))
CONFIG = Config(downstreams=(DS_A, DS_B), rules=(RULE, RULE_2), aliases=(GPT, CLAUDE))


def load(conn, **sections):
    return sync.load_config_data(conn, Config(**sections))


def test_snapshot_round_trips_a_config_exactly(conn):
    assert sync.load_config_data(conn, CONFIG) == {"downstreams": 2, "rules": 2, "aliases": 2}
    assert sync.snapshot(conn) == (CONFIG.downstreams, CONFIG.rules, CONFIG.aliases)


def test_loading_the_same_config_twice_changes_nothing(conn):
    sync.load_config_data(conn, CONFIG)
    sync.load_config_data(conn, CONFIG)
    assert sync.snapshot(conn) == (CONFIG.downstreams, CONFIG.rules, CONFIG.aliases)
    assert rules.get_version(conn, "r1") == 1


def test_yaml_values_overwrite_db_edits(conn):
    sync.load_config_data(conn, CONFIG)
    downstreams.upsert(conn, Downstream("a", "Edited", "http://edited", output_model_ids=("other",)))
    rules.set_enabled(conn, "r2", True)
    sync.load_config_data(conn, CONFIG)
    assert downstreams.get(conn, "a") == DS_A
    assert rules.get(conn, "r2") == RULE_2
    assert rules.get_version(conn, "r2") == 3


def test_positions_follow_yaml_order_on_reload(conn):
    sync.load_config_data(conn, CONFIG)
    load(conn, downstreams=(DS_B, DS_A), rules=(RULE_2, RULE), aliases=(CLAUDE, GPT))
    assert sync.snapshot(conn) == ((DS_B, DS_A), (RULE_2, RULE), (CLAUDE, GPT))


def test_db_only_rows_are_kept(conn):
    sync.load_config_data(conn, CONFIG)
    load(conn, downstreams=(DS_B,), rules=(RULE_2,), aliases=(GPT,))
    ds, rls, groups = sync.snapshot(conn)
    assert [d.id for d in ds] == ["a", "b"]
    assert {r.id for r in rls} == {"r1", "r2"}
    assert {g.input_model_id for g in groups} == {"gpt", "^claude-"}


def test_empty_sections_are_a_no_op(conn):
    sync.load_config_data(conn, CONFIG)
    before = sync.snapshot(conn)
    assert load(conn) == {"downstreams": 0, "rules": 0, "aliases": 0}
    assert sync.snapshot(conn) == before


def test_first_load_activates_the_first_option_of_each_group(conn):
    sync.load_config_data(conn, CONFIG)
    assert aliases.active_ids(conn) == {"gpt": "g1", "^claude-": "c1"}


def test_active_option_survives_a_reload_while_its_id_is_still_in_yaml(conn):
    sync.load_config_data(conn, CONFIG)
    aliases.activate(conn, "g2")
    sync.load_config_data(conn, CONFIG)
    assert aliases.active_ids(conn)["gpt"] == "g2"


def test_active_option_falls_back_to_the_first_yaml_option_when_removed(conn):
    sync.load_config_data(conn, CONFIG)
    aliases.activate(conn, "g2")
    trimmed = AliasGroup("gpt", (AliasOption("g3", "b", "gpt-x"), AliasOption("g1", "b", "gpt-x")))
    load(conn, aliases=(trimmed,))
    assert aliases.get_group(conn, "gpt") == trimmed
    assert aliases.active_ids(conn)["gpt"] == "g3"


def test_an_option_id_moved_to_another_group_in_yaml_moves(conn):
    # The Go project never updated input_model_id, so the move was silently ignored.
    sync.load_config_data(conn, CONFIG)
    moved_to = AliasGroup("gpt-new", (AliasOption("g2", "a", "claude-x"),))
    load(conn, aliases=(AliasGroup("gpt", GPT.options[:1]), moved_to))
    assert aliases.get_group(conn, "gpt-new") == moved_to
    assert aliases.get(conn, "g2")["input_model_id"] == "gpt-new"
    assert aliases.get_group(conn, "gpt").options == GPT.options[:1]


def test_a_yaml_group_with_an_empty_options_list_deletes_its_rows(conn):
    sync.load_config_data(conn, CONFIG)
    load(conn, aliases=(AliasGroup("gpt", ()), CLAUDE))
    assert aliases.get_group(conn, "gpt") is None
    assert aliases.get(conn, "c1")["group_order"] == 2


def test_reordered_options_read_back_in_yaml_order_keeping_created_at(conn):
    sync.load_config_data(conn, CONFIG)
    conn.execute("UPDATE aliases SET created_at = '2020-01-01T00:00:00Z' WHERE id = 'g1'")
    swapped = AliasGroup("gpt", tuple(reversed(GPT.options)))
    load(conn, aliases=(swapped,))
    assert aliases.get_group(conn, "gpt") == swapped
    assert aliases.get(conn, "g1")["created_at"] == "2020-01-01T00:00:00Z"


@pytest.mark.parametrize("groups, message", [
    ((AliasGroup("^(", (AliasOption("x", "a", "m"),), is_regex=True),), "invalid regex pattern"),
    ((AliasGroup("^c", (AliasOption("x", "a", "m"),), is_regex=True, announced_names=("claude-x",)),),
     "collides with a downstream output_model_id"),
    ((GPT, AliasGroup("other", GPT.options[:1])), "alias id 'g1' is in groups 'gpt' and 'other'"),
    ((GPT, GPT), "alias group 'gpt' appears twice"),
])
def test_invalid_alias_sections_are_refused_without_writing(store, groups, message):
    store.write(sync.load_config_data, Config(downstreams=(DS_A,)))
    with pytest.raises(ConfigError, match=message):
        store.write(sync.load_config_data, Config(rules=(RULE,), aliases=groups))
    assert rules.list_(store.reader()) == []
    assert aliases.list_groups(store.reader()) == []
