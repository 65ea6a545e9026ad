"""Bad input to the admin API (in-process server on port 0): wrong types, unparsable bodies and odd
query strings give 4xx JSON errors (or are accepted as valid), never a 500.
"""
import pytest

from tests.robustness import support
from tests.support import Gateway

VALUES = [None, 5, -1, 1.5, True, "", "x", [], [1], ["a"], {}, {"a": 1}, "a" * 3000, "\u0000", "../x", "\r\nX: y"]
# (method, path, fields tried one at a time with each value)
TARGETS = [
    ("POST", "/api/downstreams", ["id", "name", "base_url", "api_key", "api_formats", "output_model_ids",
                                  "format_urls", "headers", "proxy_mode", "enabled"]),
    ("PUT", "/api/downstreams/oa", ["name", "base_url", "api_formats", "output_model_ids", "format_urls"]),
    ("POST", "/api/rules", ["id", "name", "enabled", "priority", "conditions", "pipeline", "models", "plugin_id"]),
    ("POST", "/api/aliases", ["group", "name", "model", "downstream_id", "output_model", "is_active"]),
    ("POST", "/api/aliases/group", ["name", "group", "regex", "options"]),
    ("POST", "/api/aliases/reorder", ["groups", "order", "ids"]),
    ("PUT", "/api/config", ["log_level", "proxy_mode", "stream_idle_timeout", "max_body_bytes", "proxy_api_keys",
                            "capture_payloads", "bind_addr"]),
    ("PUT", "/api/log_level", ["level"]),
    ("POST", "/api/auth/login", ["password"]),
    ("POST", "/api/downstreams/oa/models", ["id", "model", "model_id"]),
]
RAW_BODIES = [b"[]", b"5", b"null", b"\xff\xfe", b"{", b'{"a": 1}{"b": 2}']


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    server = Gateway(support.DOWNSTREAMS.format(url="http://127.0.0.1:9"), tmp_path_factory.mktemp("admin-input"))
    yield server
    server.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method,path,fields", TARGETS, ids=["%s %s" % t[:2] for t in TARGETS])
def test_admin_api_answers_wrong_types_and_bad_bodies_without_500(gateway, method, path, fields):
    tried = 0
    for field in fields:
        for value in VALUES:
            body = {field: value}
            if (method, path) == ("POST", "/api/downstreams"):
                body = dict({"id": "n%d" % tried, "name": "N", "base_url": "http://h", "api_formats": ["openai"]},
                            **body)
            reply = support.call(gateway.url, method, path, body)
            assert reply.status < 500, (field, value, reply)
            tried += 1
    for raw in RAW_BODIES:
        reply = support.call(gateway.url, method, path, raw)
        assert 400 <= reply.status < 500 and "error" in reply.json, (raw, reply)
    assert support.call(gateway.url, "GET", "/api/health").status == 200


@pytest.mark.parametrize("query", ["from=x&to=y", "from=2025-13-45T99:00:00Z", "limit=-1", "limit=abc",
                                   "since=zz", "level=%00", "q=%ff%fe", "from=" + "9" * 400])
@pytest.mark.parametrize("path", ["/api/stats", "/api/logs"])
def test_admin_reads_with_odd_query_strings_never_500(gateway, path, query):
    reply = support.call(gateway.url, "GET", path + "?" + query)
    assert reply.status < 500, reply


def test_config_yaml_still_loads_after_every_odd_value_above(gateway):
    # Values with CR/LF, NUL, quotes or 3,000 characters were accepted into config.yaml above:
    # the file written back must parse, validate and say the same as the running daemon.
    from tresor import config as config_io

    path = gateway.app.config.path
    loaded = config_io.load(path)
    assert {d.id for d in loaded.downstreams} == {d.id for d in gateway.app.config.downstreams}
    assert len(loaded.downstreams) > 4  # the creates above really were written back
    assert loaded.downstreams == gateway.app.config.downstreams
