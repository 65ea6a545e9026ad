"""/api/aliases over real HTTP: options and groups, the hot switch, reorder, validation, write-back."""
import json
import urllib.request

import pytest

from tests.admin.support import Api, saved
from tests.support import FakeUpstream

CHAT = {"id": "c1", "object": "chat.completion", "created": 1, "model": "x", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _option(option_id, group="smart", downstream="one", model="m1", **extra):
    return dict({"id": option_id, "input_model_id": group, "downstream_id": downstream, "output_model_id": model},
                **extra)


def test_first_option_of_a_new_group_is_active_and_later_ones_join_inactive(api):
    first = api.post("/api/aliases", _option("a"))
    assert first.status == 201 and first.json["is_active"] is True
    second = api.post("/api/aliases", _option("b", downstream="two", model="m2"))
    assert second.json["is_active"] is False and second.json["group_order"] == first.json["group_order"]
    groups = api.get("/api/aliases").json
    assert [g["input_model_id"] for g in groups] == ["smart"] and groups[0]["active_id"] == "a"
    option_b = groups[0]["options"][1]
    assert option_b["downstream_name"] == "Two" and option_b["api_formats"] == ["anthropic"]


def test_go_cli_create_with_is_active_false_still_routes_a_new_group(api):
    assert api.post("/api/aliases", _option("a", is_active=False)).json["is_active"] is True


def test_activate_switches_and_is_not_written_to_config_yaml(api, gateway):
    api.post("/api/aliases", _option("a"))
    api.post("/api/aliases", _option("b", downstream="two"))
    before = open(gateway.app.config.path, encoding="utf-8").read()
    reply = api.put("/api/aliases/b/activate")
    assert reply.status == 200 and reply.json["is_active"] is True
    assert api.get("/api/aliases/a").json["is_active"] is False
    assert open(gateway.app.config.path, encoding="utf-8").read() == before
    assert api.put("/api/aliases/nope/activate").status == 404


def test_activation_moves_the_next_gateway_request_to_the_other_provider(make_gateway):
    up_a, up_b = FakeUpstream(), FakeUpstream()
    try:
        gateway = make_gateway(
            "downstreams:\n  - {id: a, name: A, base_url: %s, api_formats: [openai]}\n"
            "  - {id: b, name: B, base_url: %s, api_formats: [openai]}\n"
            "aliases:\n  - input_model_id: smart\n    options:\n"
            "      - {id: opt-a, downstream_id: a, output_model_id: model-a}\n"
            "      - {id: opt-b, downstream_id: b, output_model_id: model-b}\n" % (up_a.url, up_b.url))
        for up in (up_a, up_b):
            up.enqueue(200, CHAT)
        _chat(gateway.url)
        Api(gateway.url).put("/api/aliases/opt-b/activate")
        _chat(gateway.url)
        assert len(up_a.requests) == 1 and len(up_b.requests) == 1
        assert json.loads(up_b.requests[0]["body"])["model"] == "model-b"
    finally:
        up_a.close()
        up_b.close()


def _chat(url):
    request = urllib.request.Request(url + "/v1/chat/completions", json.dumps(
        {"model": "smart", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def test_partial_update_keeps_other_fields_and_can_move_an_option(api):
    api.post("/api/aliases", _option("a"))
    api.post("/api/aliases", _option("b", model="m2"))
    assert api.put("/api/aliases/b", {"output_model_id": "m3"}).json["downstream_id"] == "one"
    moved = api.put("/api/aliases/b", {"input_model_id": "other"}).json
    assert moved["input_model_id"] == "other" and moved["output_model_id"] == "m3" and moved["is_active"]
    assert [g["input_model_id"] for g in api.get("/api/aliases").json] == ["smart", "other"]


def test_moving_an_active_option_into_another_group_does_not_take_over_its_choice(api):
    api.post("/api/aliases", _option("a"))
    api.post("/api/aliases", _option("x", group="other"))
    moved = api.put("/api/aliases/a", {"input_model_id": "other"}).json
    assert moved["is_active"] is False and api.get("/api/aliases/x").json["is_active"] is True


def test_deleting_the_active_option_promotes_the_oldest_sibling(api):
    for option_id in ("a", "b", "c"):
        api.post("/api/aliases", _option(option_id))
    assert api.delete("/api/aliases/a").json == {"status": "deleted"}
    assert api.get("/api/aliases/b").json["is_active"] is True
    assert api.delete("/api/aliases/a").status == 404


def test_groups_create_reorder_and_delete(api):
    reply = api.post("/api/aliases/group", {"input_model_id": "g1", "options": [
        {"downstream_id": "one", "output_model_id": "m1"}, {"id": "g1-b", "downstream_id": "two",
                                                              "output_model_id": "m2"}]})
    assert reply.status == 201 and len(reply.json["options"]) == 2
    assert reply.json["active_id"] == reply.json["options"][0]["id"]
    api.post("/api/aliases", _option("x", group="g2"))
    assert api.post("/api/aliases/reorder", {"order": ["g2", "g1"]}).json == {"status": "reordered"}
    assert [g["input_model_id"] for g in api.get("/api/aliases").json] == ["g2", "g1"]
    assert api.post("/api/aliases/reorder", {"order": ["ghost"]}).status == 400
    assert api.delete("/api/aliases/group/g2").json == {"status": "deleted", "count": 1}
    assert api.delete("/api/aliases/group/g2").status == 404
    assert api.get("/api/aliases").json[0]["options"][0]["group_order"] == 1  # later groups move up


@pytest.mark.parametrize("body, needle", [
    (_option("r", group="claude-(", is_regex=True), "invalid regex pattern"),
    (_option("r", announced_names=["smart"]), "announced name"),
    (_option("r", group="^c-.*$", is_regex=True, announced_names=["x-1"]), "does not match"),
    (_option("r", group="^m.*$", is_regex=True, announced_names=["m1"]), "collides"),
    (_option("r", downstream="ghost"), "downstream 'ghost' not found"),
    ({"input_model_id": "smart", "downstream_id": "one"}, "output_model_id"),
    (_option("r", colour="red"), "'colour'"),
])
def test_invalid_aliases_are_400_naming_the_problem(api, body, needle):
    reply = api.post("/api/aliases", body)
    assert reply.status == 400 and needle in reply.json["error"], reply.json


def test_announced_names_are_shared_by_the_whole_group(api):
    api.post("/api/aliases", _option("a", group="^claude-.*$", is_regex=True, announced_names=["claude-x"]))
    joined = api.post("/api/aliases", _option("b", group="^claude-.*$", downstream="two")).json
    assert joined["is_regex"] is True and joined["announced_names"] == ["claude-x"]


def test_write_back_yaml_equals_the_database(api, gateway):
    api.post("/api/aliases", _option("a"))
    api.post("/api/aliases", _option("b", downstream="two"))
    api.post("/api/aliases", _option("c", group="^o.*$", is_regex=True, announced_names=["o-1"]))
    api.post("/api/aliases/reorder", {"order": ["^o.*$"]})
    on_disk, (_, _, groups) = saved(gateway)
    assert on_disk.aliases == groups and groups[0].announced_names == ("o-1",)
