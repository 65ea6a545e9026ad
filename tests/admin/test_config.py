"""/api/config and /api/log_level over real HTTP: shape, partial updates, live effect, write-back."""
import json
import urllib.error
import urllib.request

import pytest

from tresor import config as config_io
from tests.admin.support import Api

KEYS = "proxy_api_keys: [client-key-0001aaaa, client-key-0002bbbb]\n"


def test_get_has_the_reference_shape_with_proxy_keys_masked(make_gateway):
    api = Api(make_gateway(KEYS).url)
    body = api.get("/api/config").json
    assert body == {"proxy_mode": "auto", "proxy_api_keys": ["cli\u2026aaaa", "cli\u2026bbbb"],
                    "admin_password_set": False, "default_tab": "", "log_level": "info",
                    "capture_payloads": False, "retry_on_empty": False}
    assert api.get("/api/config?reveal=1").json["proxy_api_keys"] == ["client-key-0001aaaa", "client-key-0002bbbb"]


def test_put_is_partial_applies_live_and_is_written_back(api, gateway):
    body = api.put("/api/config", {"default_tab": "logs", "retry_on_empty": True, "capture_payloads": True}).json
    assert body["default_tab"] == "logs" and body["retry_on_empty"] is True and body["proxy_mode"] == "auto"
    assert gateway.app.config.retry_on_empty is True
    on_disk = config_io.load(gateway.app.config.path)
    assert (on_disk.default_tab, on_disk.retry_on_empty, on_disk.capture_payloads) == ("logs", True, True)
    assert [d.id for d in on_disk.downstreams] == ["one", "two"]


def test_the_get_shape_sent_back_unchanged_keeps_the_masked_keys(make_gateway):
    gateway = make_gateway(KEYS)
    api = Api(gateway.url)
    shown = api.get("/api/config").json
    shown["proxy_mode"] = "none"
    assert api.put("/api/config", shown).status == 200
    assert gateway.app.config.proxy_api_keys == ("client-key-0001aaaa", "client-key-0002bbbb")
    assert config_io.load(gateway.app.config.path).proxy_mode == "none"


def test_new_proxy_keys_protect_the_gateway_at_once(api, gateway):
    api.put("/api/config", {"proxy_api_keys": ["gate-key"]})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(gateway.url + "/v1/models", timeout=5)
    assert caught.value.code == 401
    request = urllib.request.Request(gateway.url + "/v1/models", headers={"Authorization": "Bearer gate-key"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.status == 200


@pytest.mark.parametrize("body, needle", [
    ({"proxy_mode": "socks"}, "proxy_mode"),
    ({"default_tab": "nowhere"}, "default_tab"),
    ({"log_level": "loud"}, "log_level"),
    ({"capture_payloads": "yes"}, "capture_payloads"),
    ({"proxy_api_keys": "k"}, "proxy_api_keys"),
    ({"proxy_api_keys": ["cli\u2026zzzz"]}, "masked key"),
    ({"bind_addr": "0.0.0.0:1"}, "'bind_addr'"),
])
def test_invalid_settings_are_400_naming_the_field(api, body, needle):
    reply = api.put("/api/config", body)
    assert reply.status == 400 and needle in reply.json["error"], reply.json


def test_log_level_in_config_is_live_and_saved(api, gateway):
    api.put("/api/config", {"log_level": "error"})
    assert gateway.app.log.level == "error"
    assert config_io.load(gateway.app.config.path).log_level == "error"


def test_log_level_endpoint_is_live_only(api, gateway):
    before = open(gateway.app.config.path, encoding="utf-8").read()
    assert api.put("/api/log_level", {"level": "debug"}).json == {"level": "debug"}
    assert api.get("/api/log_level").json == {"level": "debug"}
    assert api.get("/api/config").json["log_level"] == "debug"
    assert open(gateway.app.config.path, encoding="utf-8").read() == before
    assert api.put("/api/log_level", {"level": "chatty"}).status == 400


def test_unknown_admin_paths_are_404_and_wrong_methods_405(api):
    assert api.get("/api/nothing").status == 404
    reply = api.call("PATCH", "/api/config")
    assert reply.status == 405 and "PATCH" in reply.json["error"]


def test_bad_json_is_a_400(api):
    reply = api.call("PUT", "/api/config", raw=b"{not json")
    assert reply.status == 400 and "not valid JSON" in reply.json["error"]
    assert json.loads(api.call("PUT", "/api/config", raw=b"[1]").raw)["error"] == "request body must be a JSON object"
