"""RoutingTable resolution order and proxy-key checks."""
import pytest

from tresor.config.model import AliasGroup, AliasOption, Downstream
from tresor.errors import ClientError
from tresor.gateway import routing

A = Downstream("a", "A", "http://a", output_model_ids=("m1", "shared"))
B = Downstream("b", "B", "http://b", output_model_ids=("m2", "shared"))


def _table(groups=(), active=None):
    active = active or {g.input_model_id: g.options[0].id for g in groups if g.options}
    return routing.RoutingTable((A, B), groups, active)


def test_direct_routing_uses_the_first_downstream_in_config_order():
    assert _table().resolve("shared").downstream.id == "a"
    assert _table().resolve("m2") == routing.Route(B, "m2")
    assert _table().resolve("nope") is None


def test_exact_alias_wins_over_direct_and_rewrites_the_model():
    group = AliasGroup("m1", (AliasOption("o1", "b", "m2"), AliasOption("o2", "a", "m1")))
    route = _table([group]).resolve("m1")
    assert (route.downstream.id, route.model, route.alias_group, route.option_id) == ("b", "m2", "m1", "o1")
    assert _table([group], {"m1": "o2"}).resolve("m1").downstream.id == "a"


def test_group_without_active_option_falls_through_to_direct():
    group = AliasGroup("m1", (AliasOption("o1", "b", "m2"),))
    assert _table([group], {"other": "x"}).resolve("m1").downstream.id == "a"


def test_regex_groups_search_in_group_order_and_announced_names_route_exactly():
    first = AliasGroup("claude-", (AliasOption("r1", "a", "m1"),), is_regex=True, announced_names=("claude-x",))
    second = AliasGroup("^claude-sonnet", (AliasOption("r2", "b", "m2"),), is_regex=True)
    table = _table([first, second])
    assert table.resolve("my-claude-sonnet").option_id == "r1"  # unanchored search, first group wins
    assert table.resolve("claude-x").option_id == "r1"
    assert _table([second, first]).resolve("claude-sonnet-4").option_id == "r2"


def test_alias_to_a_missing_downstream_is_a_502():
    group = AliasGroup("m", (AliasOption("o", "gone", "x"),))
    with pytest.raises(ClientError) as info:
        _table([group]).resolve("m")
    assert info.value.status == 502 and 'missing downstream "gone"' in info.value.message


def test_known_models_lists_outputs_exact_aliases_and_announced_names_not_patterns():
    groups = [AliasGroup("alias-1", (AliasOption("o", "b", "m2"),)),
              AliasGroup("^re", (AliasOption("r", "a", "m1"),), is_regex=True, announced_names=("re-1",))]
    names = [k[0] for k in _table(groups).known_models()]
    assert names == ["alias-1", "m1", "m2", "re-1", "shared"]


@pytest.mark.parametrize("headers, query, token", [
    ({"authorization": "Bearer k1"}, {}, "k1"),
    ({"x-api-key": "k2"}, {}, "k2"),
    ({"x-goog-api-key": "k3"}, {}, "k3"),
    ({}, {"key": "k4"}, "k4"),
    ({"authorization": "Basic zzz", "x-api-key": "k5"}, {}, "k5"),
])
def test_client_token_lookup_order(headers, query, token):
    assert routing.client_token(headers, query)[0] == token


def test_is_authorized_matches_any_key_and_rejects_empty():
    assert routing.is_authorized("k2", ["k1", "k2"])
    assert not routing.is_authorized("k3", ["k1", "k2"])
    assert not routing.is_authorized("", [""])
    assert routing.is_authorized("ключ", ["ключ"])
