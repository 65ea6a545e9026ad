"""/api/downstreams over real HTTP: CRUD, partial updates, masked keys, models, fetch-models, write-back."""
import pytest

from tests.admin.support import saved

NEW = {"id": "new", "name": "New", "base_url": "https://new.example/v1", "api_key": "sk-new-key-0000wxyz",
       "api_formats": ["openai", "anthropic"], "output_model_ids": ["n1", "n2"]}


def test_create_returns_201_with_the_reference_shape_and_a_masked_key(api):
    reply = api.post("/api/downstreams", NEW)
    assert reply.status == 201
    body = reply.json
    assert list(body) == ["id", "name", "base_url", "api_key", "api_formats", "output_model_ids", "created_at"]
    assert body["api_key"] == "sk-\u2026wxyz"
    assert body["created_at"].endswith("Z") and "format_urls" not in body


def test_every_read_masks_keys_and_reveal_shows_the_real_one(api):
    api.post("/api/downstreams", NEW)
    assert [d.get("api_key") for d in api.get("/api/downstreams").json] == ["sk-\u2026abcd", None, "sk-\u2026wxyz"]
    assert api.get("/api/downstreams/new").json["api_key"] == "sk-\u2026wxyz"
    assert api.get("/api/downstreams/new?reveal=1").json["api_key"] == NEW["api_key"]


def test_short_keys_are_masked_entirely(api):
    api.post("/api/downstreams", dict(NEW, api_key="short"))
    assert api.get("/api/downstreams/new").json["api_key"] == "***"


def test_partial_update_never_wipes_absent_fields(api):
    api.post("/api/downstreams", NEW)
    reply = api.put("/api/downstreams/new", {"name": "Renamed"})
    assert reply.status == 200
    full = api.get("/api/downstreams/new?reveal=1").json
    assert full["name"] == "Renamed" and full["base_url"] == NEW["base_url"]
    assert full["api_key"] == NEW["api_key"] and full["api_formats"] == NEW["api_formats"]
    assert full["output_model_ids"] == ["n1", "n2"]


@pytest.mark.parametrize("sent", ["sk-\u2026wxyz", "", "***", None])
def test_sending_the_mask_back_keeps_the_stored_key(api, sent):
    api.post("/api/downstreams", NEW)
    shown = api.get("/api/downstreams/new").json
    shown["api_key"] = sent
    assert api.put("/api/downstreams/new", shown).status == 200
    assert api.get("/api/downstreams/new?reveal=1").json["api_key"] == NEW["api_key"]


def test_update_with_a_new_key_replaces_it_and_an_empty_list_clears(api):
    api.post("/api/downstreams", NEW)
    api.put("/api/downstreams/new", {"api_key": "sk-replaced-9999", "output_model_ids": []})
    body = api.get("/api/downstreams/new?reveal=1").json
    assert body["api_key"] == "sk-replaced-9999" and "output_model_ids" not in body


@pytest.mark.parametrize("body, field", [
    ({"base_url": "https://x.example"}, "name"),
    ({"name": "X"}, "base_url"),
    ({"name": "X", "base_url": "ftp://x.example"}, "base_url"),
    ({"name": "X", "base_url": "https://x.example", "api_formats": ["grpc"]}, "api_formats[0]"),
    ({"name": "X", "base_url": "https://x.example", "format_urls": {"openai": "nope"}}, "format_urls.openai"),
    ({"name": "X", "base_url": "https://x.example", "base_ur1": "y"}, "'base_ur1'"),
    ({"name": "X", "base_url": "https://x.example", "id": "a/b"}, "id"),
])
def test_invalid_bodies_are_400_naming_the_field(api, body, field):
    reply = api.post("/api/downstreams", body)
    assert reply.status == 400 and field in reply.json["error"]


def test_duplicate_id_is_409_and_unknown_ids_are_404_matched_exactly(api):
    assert api.post("/api/downstreams", dict(NEW, id="one")).status == 409
    assert api.get("/api/downstreams/on").status == 404
    assert api.put("/api/downstreams/on", {"name": "x"}).status == 404
    assert api.delete("/api/downstreams/on").status == 404
    assert api.get("/api/downstreams/one").json["name"] == "One"


def test_delete_removes_it_and_cascades_into_rules(api):
    api.post("/api/rules", {"id": "r", "name": "R", "pattern_path": "*", "match_downstreams": ["one", "two"]})
    assert api.delete("/api/downstreams/one").json == {"status": "deleted"}
    assert api.get("/api/downstreams/one").status == 404
    assert api.get("/api/rules/r").json["match_downstreams"] == ["two"]


def test_models_add_list_and_remove_including_ids_with_slashes(api):
    assert api.post("/api/downstreams/one/models", {"model_id": "org/model-x"}).status == 200
    assert api.post("/api/downstreams/one/models", {"model_id": "org/model-x"}).status == 200  # idempotent
    assert api.get("/api/downstreams/one/models").json == {"model_ids": ["m1", "org/model-x"]}
    reply = api.delete("/api/downstreams/one/models/org%2Fmodel-x")
    assert reply.status == 200 and reply.json["output_model_ids"] == ["m1"]


def test_bare_ip_base_url_gets_a_warning(api):
    reply = api.post("/api/downstreams", dict(NEW, base_url="https://203.0.113.9"))
    assert reply.status == 201 and "203.0.113.9" in reply.json["warning"]


def test_write_back_yaml_equals_the_database(api, gateway):
    api.post("/api/downstreams", dict(NEW, format_urls={"anthropic": "https://new.example/anthropic"}))
    api.put("/api/downstreams/one", {"name": "Uno", "output_model_ids": ["m1", "m9"]})
    api.delete("/api/downstreams/two")
    on_disk, (ds, _, _) = saved(gateway)
    assert on_disk.downstreams == ds
    assert [d.id for d in ds] == ["one", "new"] and ds[0].output_model_ids == ("m1", "m9")


def test_a_failed_config_write_is_500_and_changes_nothing(api, monkeypatch):
    from tresor import config as config_io
    from tresor.errors import ConfigError

    def refuse(*args):
        raise ConfigError("cannot write config file: No space left on device")

    monkeypatch.setattr(config_io, "save", refuse)
    reply = api.post("/api/downstreams", NEW)
    assert reply.status == 500 and "No space left" in reply.json["error"]
    assert api.get("/api/downstreams/new").status == 404


def test_fetch_models_for_a_saved_downstream_asks_the_provider(api, upstream):
    api.put("/api/downstreams/one", {"base_url": upstream.url})
    upstream.enqueue(200, {"object": "list", "data": [{"id": "gpt-a"}, {"id": "gpt-b"}]})
    reply = api.post("/api/downstreams/one/fetch-models")
    assert reply.json == {"model_ids": ["gpt-a", "gpt-b"]}
    sent = upstream.requests[-1]
    assert sent["path"] == "/models" and sent["headers"]["authorization"] == "Bearer sk-one-0123456789abcd"
    assert api.get("/api/downstreams/one").json["output_model_ids"] == ["m1"]  # nothing persisted


def test_fetch_models_moves_on_after_401_and_reads_gemini_names(api, upstream):
    upstream.enqueue(401, {"error": "no"})
    upstream.enqueue(200, {"models": [{"name": "models/gemini-x"}]})
    reply = api.post("/api/fetch-models", {"base_url": upstream.url, "api_key": "k", "formats": ["gemini"]})
    assert reply.json == {"model_ids": ["gemini-x"]}
    assert [r["path"] for r in upstream.requests] == ["/v1beta/models", "/models"]
    assert upstream.requests[-1]["headers"]["x-goog-api-key"] == "k"


def test_fetch_models_without_a_key_or_a_working_endpoint_is_an_error(api, upstream):
    reply = api.post("/api/downstreams/two/fetch-models")
    assert reply.status == 400 and "no API key" in reply.json["error"]
    for _ in range(2):
        upstream.enqueue(404, {"error": "nope"})
    reply = api.post("/api/fetch-models", {"base_url": upstream.url, "api_key": "k"})
    assert reply.status == 502 and "No working models endpoint found" in reply.json["error"]


def test_fetch_models_with_a_masked_key_uses_the_stored_one(api, upstream):
    upstream.enqueue(200, b'["a", "b"]')  # a bare list of ids, as some local servers answer
    body = {"base_url": upstream.url, "api_key": "sk-\u2026abcd", "downstream_id": "one"}
    assert api.post("/api/fetch-models", body).json == {"model_ids": ["a", "b"]}
    assert upstream.requests[-1]["headers"]["authorization"] == "Bearer sk-one-0123456789abcd"
