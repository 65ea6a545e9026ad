"""/api/rules over real HTTP: CRUD, pipeline_config as string or list, partial update, toggles, write-back."""
import json

import pytest

from tests.admin.support import saved

HEADER_STEP = {"plugin_id": "custom_header", "config": {"headers": {"x-team": "blue"}}}


def _rule(**fields):
    return dict({"id": "r1", "name": "Rule one", "pattern_path": "/v1/chat/completions"}, **fields)


def test_create_accepts_a_list_pipeline_and_returns_it_as_a_json_string(api):
    reply = api.post("/api/rules", _rule(pipeline_config=[HEADER_STEP], match_format=["openai"]))
    assert reply.status == 201
    body = reply.json
    assert isinstance(body["pipeline_config"], str) and json.loads(body["pipeline_config"]) == [HEADER_STEP]
    assert body["is_enabled"] is True and body["match_format"] == ["openai"]
    assert set(body) == {"id", "name", "pattern_path", "pattern_models", "match_format", "match_downstream_format",
                         "match_downstreams", "pipeline_config", "is_enabled", "created_at"}


def test_create_accepts_the_go_json_string_pipeline(api):
    reply = api.post("/api/rules", _rule(pipeline_config=json.dumps([HEADER_STEP])))
    assert reply.status == 201 and json.loads(reply.json["pipeline_config"]) == [HEADER_STEP]


def test_create_without_an_id_gets_an_8_character_one(api):
    body = api.post("/api/rules", {"name": "N", "pattern_path": "*"}).json
    assert len(body["id"]) == 8 and api.get("/api/rules/" + body["id"]).status == 200


@pytest.mark.parametrize("fields, needle", [
    ({"name": ""}, "name"),
    ({"pattern_path": None}, "pattern_path"),
    ({"pattern_path": "v1/chat"}, "pattern_path"),
    ({"pipeline_config": [{"plugin_id": "no_such_plugin"}]}, "pipeline_config[0]"),
    ({"pipeline_config": "[not json"}, "pipeline_config"),
    ({"pipeline_config": [{"plugin_id": "custom_header", "extra": 1}]}, "'extra'"),
    ({"match_downstreams": ["ghost"]}, "match_downstreams"),
    ({"match_format": ["soap"]}, "match_format[0]"),
    ({"priority": 3}, "'priority'"),
])
def test_invalid_rules_are_400_naming_the_field(api, fields, needle):
    reply = api.post("/api/rules", _rule(**fields))
    assert reply.status == 400 and needle in reply.json["error"], reply.json


def test_partial_update_changes_only_what_is_sent(api):
    api.post("/api/rules", _rule(pattern_models=["m1"], match_downstreams=["one"], pipeline_config=[HEADER_STEP]))
    reply = api.put("/api/rules/r1", {"name": "Renamed"})
    assert reply.status == 200
    body = api.get("/api/rules/r1").json
    assert body["name"] == "Renamed" and body["pattern_models"] == ["m1"]
    assert body["match_downstreams"] == ["one"] and json.loads(body["pipeline_config"]) == [HEADER_STEP]


def test_is_enabled_alone_toggles_and_an_empty_body_is_rejected(api):
    api.post("/api/rules", _rule())
    assert api.put("/api/rules/r1", {"is_enabled": False}).json["is_enabled"] is False
    assert api.put("/api/rules/r1", {"is_enabled": True}).json["is_enabled"] is True
    reply = api.put("/api/rules/r1", {})
    assert reply.status == 400 and reply.json["error"] == "no fields to update"


def test_unknown_ids_are_404_and_delete_removes(api):
    api.post("/api/rules", _rule())
    assert api.get("/api/rules/r").status == 404
    assert api.delete("/api/rules/r").status == 404
    assert api.delete("/api/rules/r1").json == {"status": "deleted"}
    assert api.get("/api/rules").json == []


def test_write_back_keeps_equal_list_fields_apart(api, gateway):
    # The Go project matched columns by JSON text and lost one of two equal lists (reference §1.9).
    api.post("/api/rules", _rule(match_format=["anthropic"], match_downstream_format=["anthropic"],
                                 pipeline_config=[HEADER_STEP]))
    api.post("/api/rules", {"id": "r2", "name": "Two", "pattern_path": "*", "is_enabled": False})
    on_disk, (_, rules, _) = saved(gateway)
    assert on_disk.rules == rules
    assert rules[0].match_format == rules[0].match_downstream_format == ("anthropic",)


def test_plugins_list_has_ids_descriptions_and_schemas(api):
    plugins = api.get("/api/plugins").json
    header = next(p for p in plugins if p["id"] == "custom_header")
    assert header["description"] and isinstance(header["config_schema"], dict)
