"""store/downstreams.py: Downstream round-trips, config order, models and the delete cascade."""
from tresor.config.model import AliasGroup, AliasOption, Downstream, Rule
from tresor.store import aliases, downstreams, rules

FULL = Downstream(id="ds", name="Provider", base_url="https://api.example.com", api_key="sk-1",
                  api_formats=("anthropic", "openai"), format_urls={"anthropic": "https://a.example.com"},
                  output_model_ids=("zeta", "alpha", "mid"))


def test_upsert_then_get_round_trips_every_field(conn):
    downstreams.upsert(conn, FULL, 0)
    assert downstreams.get(conn, "ds") == FULL
    assert downstreams.get(conn, "missing") is None


def test_list_follows_position_not_insertion_order(conn):
    downstreams.upsert(conn, Downstream("b", "B", "http://b"), 1)
    downstreams.upsert(conn, Downstream("a", "A", "http://a"), 0)
    downstreams.upsert(conn, Downstream("c", "C", "http://c"), 1)
    assert [d.id for d in downstreams.list_(conn)] == ["a", "b", "c"]


def test_upsert_overwrites_fields_and_replaces_the_model_list(conn):
    downstreams.upsert(conn, FULL, 0)
    changed = Downstream("ds", "Renamed", "http://new", output_model_ids=("only",))
    downstreams.upsert(conn, changed, 0)
    assert downstreams.get(conn, "ds") == changed


def test_upsert_without_position_appends_new_and_keeps_existing_position(conn):
    downstreams.upsert(conn, Downstream("a", "A", "http://a"), 5)
    downstreams.upsert(conn, Downstream("b", "B", "http://b"))
    downstreams.upsert(conn, Downstream("a", "A2", "http://a"))
    positions = dict(conn.execute("SELECT id, position FROM downstreams").fetchall())
    assert positions == {"a": 5, "b": 6}


def test_add_model_appends_once_and_remove_model_reports_change(conn):
    downstreams.upsert(conn, Downstream("ds", "D", "http://d", output_model_ids=("m1",)), 0)
    assert downstreams.add_model(conn, "ds", "m0") is True
    assert downstreams.add_model(conn, "ds", "m0") is False
    assert downstreams.get(conn, "ds").output_model_ids == ("m1", "m0")
    assert downstreams.remove_model(conn, "ds", "m1") is True
    assert downstreams.remove_model(conn, "ds", "m1") is False
    assert downstreams.get(conn, "ds").output_model_ids == ("m0",)


def test_find_by_model_returns_the_first_downstream_in_config_order(conn):
    downstreams.upsert(conn, Downstream("late", "L", "http://l", output_model_ids=("gpt",)), 1)
    downstreams.upsert(conn, Downstream("early", "E", "http://e", output_model_ids=("gpt",)), 0)
    assert downstreams.find_by_model(conn, "gpt").id == "early"
    assert downstreams.find_by_model(conn, "gp") is None


def test_delete_unknown_downstream_returns_false(conn):
    assert downstreams.delete(conn, "nope") is False


def test_delete_removes_the_row_its_models_and_its_alias_options(conn):
    downstreams.upsert(conn, FULL, 0)
    aliases.replace_group(conn, AliasGroup("g", (AliasOption("o1", "ds", "m"),)), 1, "o1")
    assert downstreams.delete(conn, "ds") is True
    assert downstreams.list_(conn) == []
    assert conn.execute("SELECT COUNT(*) FROM output_model_ids").fetchone()[0] == 0
    assert aliases.list_groups(conn) == []


def test_delete_removes_the_id_from_rules_and_bumps_their_version(conn):
    downstreams.upsert(conn, FULL, 0)
    rules.upsert(conn, Rule("r", "R", match_downstreams=("ds", "other")), 0)
    downstreams.delete(conn, "ds")
    assert rules.get(conn, "r") == Rule("r", "R", match_downstreams=("other",))
    assert rules.get_version(conn, "r") == 2


def test_delete_disables_a_rule_whose_downstream_filter_becomes_empty(conn):
    # The Go project left such a rule enabled with an empty filter, so it matched everything.
    downstreams.upsert(conn, FULL, 0)
    rules.upsert(conn, Rule("r", "R", match_downstreams=("ds",)), 0)
    downstreams.delete(conn, "ds")
    assert rules.get(conn, "r") == Rule("r", "R", match_downstreams=(), is_enabled=False)
    assert rules.list_enabled_with_version(conn) == []


def test_delete_promotes_a_sibling_when_the_active_option_pointed_at_it(conn):
    downstreams.upsert(conn, FULL, 0)
    group = AliasGroup("g", (AliasOption("o1", "ds", "m"), AliasOption("o2", "other", "m")))
    aliases.replace_group(conn, group, 1, "o1")
    downstreams.delete(conn, "ds")
    assert aliases.active_ids(conn) == {"g": "o2"}
