"""Security campaign against the real daemon: secrets stay out of logs and away from upstreams, the
admin API resists brute force and cross-site writes, and files holding secrets are private (0600).
"""
import json
import os
import socket
import stat
import urllib.parse

import pytest

from tests.robustness import support

CLIENT_KEY = "sk-client-Zq8Wv3Lk9Pt2Xr7N"           # the distinctive proxy key clients send
UPSTREAM_KEY = "sk-upstream-Hb4Jd6Mf1Qs5Ty0U"       # a downstream's own key
SECRET_TEXT = "body-secret-Kv2Rn8Wp4Xz6"            # distinctive request-body text
PASSWORD = "admin-pass-Gy7Tc3Ne5Ld1"

EXTRA = """proxy_api_keys: [%s]
admin_password: %s
log_level: debug
socket_path: {socket}
""" % (CLIENT_KEY, PASSWORD)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, upstream):
    directory = tmp_path_factory.mktemp("security")
    extra = EXTRA.format(socket=directory / "admin.sock")
    # The gemini downstream gets the distinctive key too, so every injected key is checked.
    text = support.DOWNSTREAMS.replace("upstream-gem", UPSTREAM_KEY) + extra
    from tests.support import Daemon, basic_config

    proc = Daemon(basic_config(directory, text.format(url=upstream.url))).start()
    yield proc
    proc.kill()


def _credential_styles():
    """(headers, query) pairs carrying CLIENT_KEY the four ways clients send keys."""
    return [({"Authorization": "Bearer " + CLIENT_KEY}, ""), ({"x-api-key": CLIENT_KEY}, ""),
            ({"x-goog-api-key": CLIENT_KEY}, ""), ({}, "key=" + CLIENT_KEY)]


def _send(daemon, client_format, headers, query, stream=False, text=SECRET_TEXT, model=None):
    path, body = support.client_request(client_format, model or support.MODEL[client_format], stream)
    if client_format == "gemini":
        body["contents"][0]["parts"][0]["text"] = text
    elif client_format == "openai_responses":
        body["input"] = text
    else:
        body["messages"][0]["content"] = text
    sep = "&" if "?" in path else "?"
    return support.call(daemon.url, "POST", path + (sep + query if query else ""), body, headers)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("client_format", support.FORMATS)
def test_client_credentials_are_never_forwarded_upstream(daemon, upstream, client_format):
    for downstream in support.FORMATS:  # same-format and each translated pair
        for headers, query in _credential_styles():
            del upstream.requests[:]
            upstream.enqueue(200, support.UPSTREAM_TEXT[downstream])
            reply = _send(daemon, client_format, headers, query, model=support.MODEL[downstream])
            assert reply.status == 200, (downstream, headers, query, reply)
            seen = upstream.requests[0]
            assert CLIENT_KEY not in json.dumps(seen["headers"]), (downstream, seen["headers"])
            assert CLIENT_KEY not in seen["path"] and "key=" not in urllib.parse.urlsplit(seen["path"]).query
            sent_key = {"openai": "authorization", "openai_responses": "authorization", "anthropic": "x-api-key",
                        "gemini": "x-goog-api-key"}[downstream]
            assert seen["headers"][sent_key].endswith({"openai": "sk-upstream-oa", "openai_responses":
                                                       "sk-upstream-resp", "anthropic": "sk-upstream-ant",
                                                       "gemini": UPSTREAM_KEY}[downstream])


@pytest.mark.timeout(90)
def test_keys_passwords_and_bodies_never_reach_the_daemon_log(daemon, upstream):
    # Debug logging, every credential style, successes, auth failures, upstream errors, streams.
    for client_format in support.FORMATS:
        for headers, query in _credential_styles():
            upstream.enqueue(200, support.UPSTREAM_TEXT[client_format])
            assert _send(daemon, client_format, headers, query).status == 200
        wrong = {"Authorization": "Bearer " + CLIENT_KEY + "-wrong"}
        assert _send(daemon, client_format, wrong, "").status == 401
        upstream.enqueue(400, {"error": {"message": "bad " + SECRET_TEXT, "type": "invalid_request_error"}})
        assert _send(daemon, client_format, {"x-api-key": CLIENT_KEY}, "").status == 400
        upstream.enqueue(200, support.UPSTREAM_STREAM[client_format])
        assert _send(daemon, client_format, {"x-api-key": CLIENT_KEY}, "", stream=True).status == 200
        broken = {"x-api-key": CLIENT_KEY, "Content-Type": "application/json"}
        assert support.call(daemon.url, "POST", "/v1/chat/completions", b'{"x": "%s' % SECRET_TEXT.encode(),
                            broken).status == 400
    assert support.call(daemon.url, "POST", "/api/auth/login", {"password": PASSWORD + "-wrong"}).status == 401
    assert support.call(daemon.url, "POST", "/api/auth/login", {"password": PASSWORD}).status == 200
    log = support.daemon_log(daemon)
    assert "POST /v1/chat/completions" in log or "/v1/" in log, "debug logging is not on: " + log[-2000:]
    for secret in (CLIENT_KEY, UPSTREAM_KEY, SECRET_TEXT, PASSWORD, "sk-upstream-oa", "sk-upstream-ant"):
        assert secret not in log, "%s leaked into the daemon log" % secret
    entries = support.call(daemon.url, "GET", "/api/logs", headers={"Authorization": "Bearer " + PASSWORD})
    assert entries.status == 200
    for secret in (CLIENT_KEY, UPSTREAM_KEY, SECRET_TEXT):
        assert secret not in entries.text, "%s leaked into the request log" % secret


def test_login_brute_force_is_refused_with_429_and_retry_after_even_for_the_right_password(daemon):
    # From one client address: after 5 failures the limiter answers 429 to every further attempt,
    # so a guesser cannot tell a right password from a wrong one until Retry-After has passed.
    headers = {"X-Forwarded-For": "203.0.113.77"}  # trusted from loopback: a client of its own
    statuses = [support.call(daemon.url, "POST", "/api/auth/login", {"password": "guess%d" % i}, headers).status
                for i in range(5)]
    assert statuses == [401] * 5
    blocked = support.call(daemon.url, "POST", "/api/auth/login", {"password": "guess6"}, headers)
    assert blocked.status == 429 and int(blocked.headers["retry-after"]) >= 1
    right = support.call(daemon.url, "POST", "/api/auth/login", {"password": PASSWORD}, headers)
    assert right.status == 429 and "token" not in right.text
    as_bearer = support.call(daemon.url, "GET", "/api/config", None,
                             dict(headers, Authorization="Bearer " + PASSWORD))
    assert as_bearer.status == 429
    other = support.call(daemon.url, "POST", "/api/auth/login", {"password": PASSWORD},
                         {"X-Forwarded-For": "203.0.113.78"})
    assert other.status == 200  # another client is not locked out


def _session(daemon):
    reply = support.call(daemon.url, "POST", "/api/auth/login", {"password": PASSWORD},
                         {"X-Forwarded-For": "198.51.100.5"})
    assert reply.status == 200, reply
    return reply


def test_session_cookie_is_http_only_and_same_site_strict(daemon):
    cookie = _session(daemon).headers["set-cookie"]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs and "samesite=strict" in attrs, cookie
    assert any(a.startswith("path=/api") for a in attrs), cookie


@pytest.mark.parametrize("source", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                    {"Referer": "http://evil.example/page"},
                                    {"Origin": "http://127.0.0.1.evil.example"}])
def test_cross_site_admin_writes_are_refused_even_with_a_valid_session(daemon, source):
    token = _session(daemon).json["token"]
    headers = dict(source, Cookie="tresor_token=" + token)
    body = {"id": "csrf-ds", "name": "X", "base_url": "http://127.0.0.1:9", "api_formats": ["openai"]}
    reply = support.call(daemon.url, "POST", "/api/downstreams", body, headers)
    assert reply.status == 403, reply
    listed = support.call(daemon.url, "GET", "/api/downstreams", headers={"Cookie": "tresor_token=" + token})
    assert listed.status == 200 and "csrf-ds" not in listed.text
    same_site = dict(headers, Origin=daemon.url)
    assert support.call(daemon.url, "GET", "/api/downstreams", None, same_site).status == 200


def _protected_paths():
    from tresor.admin import ROUTES

    for methods, pattern, handler, is_public in ROUTES:
        if is_public:
            continue
        method = (methods or ("GET",))[0]
        path = pattern.replace("<id>", "oa").replace("<model_id:path>", "gpt-x").replace("<name:path>", "g")
        yield method, path


def test_admin_api_on_tcp_refuses_every_protected_route_without_credentials(daemon):
    checked = 0
    for method, path in _protected_paths():
        body = {} if method in ("POST", "PUT") else None
        for headers in ({}, {"Authorization": "Bearer not-the-password"}, {"Cookie": "tresor_token=forged"}):
            reply = support.call(daemon.url, method, path, body, dict(headers, **{"X-Forwarded-For": "192.0.2.%d"
                                                                                 % (checked % 200 + 1)}))
            assert reply.status == 401, (method, path, headers, reply)
            checked += 1
    assert checked >= 30


def _unix_get(path, sock_path):
    client = socket.socket(socket.AF_UNIX)
    client.settimeout(5)
    client.connect(sock_path)
    client.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode())
    data = b""
    while True:
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    client.close()
    return data


def test_config_db_and_socket_files_are_private(daemon):
    directory = os.path.dirname(daemon.config_path)
    sock_path = os.path.join(directory, "admin.sock")
    assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o600
    assert _unix_get("/api/config", sock_path).startswith(b"HTTP/1.1 200")  # the socket is the auth
    os.chmod(daemon.config_path, 0o644)  # as a user may have created it
    token = _session(daemon).json["token"]
    reply = support.call(daemon.url, "POST", "/api/downstreams", {"id": "priv", "name": "Priv", "base_url":
                         "http://127.0.0.1:9", "api_formats": ["openai"]}, {"Cookie": "tresor_token=" + token})
    assert reply.status == 201, reply
    assert stat.S_IMODE(os.stat(daemon.config_path).st_mode) == 0o600  # written back privately
    for name in os.listdir(directory):
        if name.startswith("tresor.db"):  # API keys and session tokens live here
            mode = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
            assert mode & 0o077 == 0, "%s is mode %o" % (name, mode)
