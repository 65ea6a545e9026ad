"""store/aliases.py: groups, activation, resolution order (reference §3.6) and validation (§1.5)."""
import pytest

from tresor.config.model import AliasGroup, AliasOption
from tresor.errors import ConfigError
from tresor.store import aliases


def group(name, *option_ids, is_regex=False, announced=()):
    options = tuple(AliasOption(i, "ds-" + i, "out-" + i) for i in option_ids)
    return AliasGroup(name, options, is_regex=is_regex, announced_names=tuple(announced))


def add(conn, order, grp, active=None):
    aliases.replace_group(conn, grp, order, active or grp.options[0].id)
    return grp


def resolved(conn, model):
    hit = aliases.find_active(conn, model)
    return None if hit is None else (hit[0].input_model_id, hit[1].id)


def test_list_groups_orders_by_group_order_then_rowid_with_options_in_order(conn):
    b = add(conn, 2, group("b", "b2", "b1"))
    a = add(conn, 1, group("a", "a1"))
    c = add(conn, 2, group("c", "c1", is_regex=True))
    assert aliases.list_groups(conn) == [a, b, c]
    assert aliases.get_group(conn, "b") == b
    assert aliases.get_group(conn, "zz") is None


def test_activate_deactivates_the_siblings(conn):
    add(conn, 1, group("g", "o1", "o2", "o3"))
    assert aliases.activate(conn, "o3") is True
    assert aliases.active_ids(conn) == {"g": "o3"}
    assert [aliases.get(conn, i)["is_active"] for i in ("o1", "o2", "o3")] == [False, False, True]
    assert aliases.activate(conn, "missing") is False


def test_get_returns_the_row_as_an_alias_dict(conn):
    add(conn, 4, group("^g", "o1", is_regex=True, announced=["g1"]))
    alias = aliases.get(conn, "o1")
    assert {k: v for k, v in alias.items() if k != "created_at"} == {
        "id": "o1", "input_model_id": "^g", "downstream_id": "ds-o1", "output_model_id": "out-o1",
        "is_active": True, "is_regex": True, "group_order": 4, "announced_names": ["g1"]}
    assert alias["created_at"].endswith("Z")
    assert aliases.get(conn, "missing") is None


def test_find_active_returns_the_group_and_its_active_option(conn):
    grp = add(conn, 1, group("gpt-4o", "o1", "o2"), active="o2")
    assert aliases.find_active(conn, "gpt-4o") == (grp, grp.options[1])
    assert aliases.find_active(conn, "gpt-4") is None


def test_announced_name_wins_over_exact_input_model_id(conn):
    add(conn, 1, group("foo", "exact"))
    add(conn, 2, group("^f", "rx", is_regex=True, announced=["foo"]))
    assert resolved(conn, "foo") == ("^f", "rx")


def test_exact_input_model_id_wins_over_an_earlier_regex_group(conn):
    add(conn, 1, group("gpt", "rx", is_regex=True))
    add(conn, 2, group("gpt-4", "exact"))
    assert resolved(conn, "gpt-4") == ("gpt-4", "exact")


def test_regex_groups_are_tried_in_group_order(conn):
    add(conn, 2, group("^claude-", "second", is_regex=True))
    add(conn, 1, group("opus", "first", is_regex=True))
    assert resolved(conn, "claude-opus") == ("opus", "first")
    assert resolved(conn, "claude-haiku") == ("^claude-", "second")


@pytest.mark.parametrize("pattern, model, is_hit", [
    ("claude-.*", "my-claude-x", True),   # unanchored search, like Go's RE2 MatchString
    ("^claude-", "my-claude-x", False),
    ("sonnet$", "claude-sonnet", True),
    ("[", "x[", False),                   # an invalid stored pattern is skipped, not raised
])
def test_regex_groups_use_search_semantics(conn, pattern, model, is_hit):
    add(conn, 1, group(pattern, "o", is_regex=True))
    assert (resolved(conn, model) is not None) is is_hit


def test_a_group_without_an_active_option_never_matches(conn):
    add(conn, 1, group("gpt", "o1"))
    conn.execute("UPDATE aliases SET is_active = 0")
    assert aliases.find_active(conn, "gpt") is None
    assert aliases.active_ids(conn) == {}


def test_deleting_the_active_option_promotes_the_oldest_sibling(conn):
    add(conn, 1, group("g", "o1", "o2", "o3"), active="o2")
    assert aliases.delete_option(conn, "o2") is True
    assert aliases.active_ids(conn) == {"g": "o1"}
    assert aliases.delete_option(conn, "o3") is True
    assert aliases.active_ids(conn) == {"g": "o1"}
    assert aliases.delete_option(conn, "o3") is False


def test_deleting_a_groups_last_option_compacts_group_order(conn):
    add(conn, 1, group("a", "a1"))
    add(conn, 2, group("b", "b1"))
    add(conn, 3, group("c", "c1"))
    aliases.delete_option(conn, "b1")
    assert [(aliases.get(conn, i)["group_order"]) for i in ("a1", "c1")] == [1, 2]


def test_delete_group_returns_the_count_and_compacts_group_order(conn):
    add(conn, 1, group("a", "a1"))
    add(conn, 2, group("b", "b1", "b2"))
    add(conn, 3, group("c", "c1"))
    assert aliases.delete_group(conn, "b") == 2
    assert aliases.delete_group(conn, "b") == 0
    assert [(g.input_model_id, aliases.get(conn, g.options[0].id)["group_order"])
            for g in aliases.list_groups(conn)] == [("a", 1), ("c", 2)]


def test_reorder_puts_named_groups_first_and_keeps_the_rest_in_order(conn):
    for order, name in enumerate("abcd", start=1):
        add(conn, order, group(name, name + "1"))
    aliases.reorder(conn, ["c", "a"])
    assert [g.input_model_id for g in aliases.list_groups(conn)] == ["c", "a", "b", "d"]
    assert aliases.get(conn, "d1")["group_order"] == 4


@pytest.mark.parametrize("names, message", [([], "empty"), (["zz"], "not found"), (["a", "a"], "twice")])
def test_reorder_rejects_bad_lists(conn, names, message):
    add(conn, 1, group("a", "a1"))
    with pytest.raises(ConfigError, match=message):
        aliases.reorder(conn, names)


def test_save_option_creates_a_new_group_last_and_joining_keeps_its_order(conn):
    add(conn, 1, group("a", "a1"))
    aliases.save_option(conn, AliasGroup("new"), AliasOption("n1", "ds", "m"))
    aliases.save_option(conn, AliasGroup("a"), AliasOption("a2", "ds", "m"), is_active=True)
    assert [(g.input_model_id, len(g.options)) for g in aliases.list_groups(conn)] == [("a", 2), ("new", 1)]
    assert aliases.get(conn, "n1")["group_order"] == 2
    assert aliases.active_ids(conn) == {"a": "a2"}


def test_save_option_copies_group_flags_to_siblings(conn):
    add(conn, 1, group("^g", "o1", "o2", is_regex=False))
    aliases.save_option(conn, AliasGroup("^g", is_regex=True, announced_names=("g1",)), AliasOption("o2", "x", "y"))
    assert aliases.get_group(conn, "^g") == AliasGroup(
        "^g", (AliasOption("o1", "ds-o1", "out-o1"), AliasOption("o2", "x", "y")), True, ("g1",))


def test_save_option_moving_the_active_option_promotes_a_sibling_in_the_old_group(conn):
    add(conn, 1, group("a", "a1", "a2"))
    aliases.save_option(conn, AliasGroup("b"), AliasOption("a1", "ds", "m"), is_active=True)
    assert aliases.active_ids(conn) == {"a": "a2", "b": "a1"}


def test_save_option_moving_a_groups_only_option_compacts_group_order(conn):
    add(conn, 1, group("a", "a1"))
    add(conn, 2, group("b", "b1"))
    aliases.save_option(conn, AliasGroup("c"), AliasOption("a1", "ds", "m"))
    assert [(g.input_model_id, aliases.get(conn, g.options[0].id)["group_order"])
            for g in aliases.list_groups(conn)] == [("b", 1), ("c", 2)]
