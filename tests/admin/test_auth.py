"""Admin auth over real HTTP: on/off, sessions, runtime password changes, rate limit, CSRF, the unix socket."""
import http.client
import os
import socket

import pytest

from tresor.admin.auth import LoginLimiter
from tests.admin.support import Api

LOCKED = "admin_password: hunter2\n"


@pytest.fixture
def locked(make_gateway):
    return make_gateway(LOCKED)


def _login(api, password="hunter2", **kw):
    return api.post("/api/auth/login", {"password": password}, **kw)


def test_without_a_password_everything_is_open(api):
    assert api.get("/api/auth/status").json == {"auth_enabled": False, "authenticated": True}
    assert api.get("/api/rules").status == 200


def test_with_a_password_protected_routes_need_a_login_and_public_ones_do_not(locked):
    api = Api(locked.url)
    for path in ("/api/health", "/api/version", "/api/auth/status"):
        assert api.get(path).status == 200
    reply = api.get("/api/rules")
    assert reply.status == 401 and reply.json == {"error": "unauthorized"}


def test_login_sets_a_strict_http_only_cookie_that_authenticates(locked):
    api = Api(locked.url)
    reply = _login(api)
    assert reply.status == 200 and reply.json["ok"] is True
    cookie = reply.cookies[0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/api/" in cookie
    assert "Secure" not in cookie
    token = reply.json["token"]
    assert cookie.startswith("tresor_token=%s;" % token)
    assert api.get("/api/rules", headers={"Cookie": "tresor_token=" + token}).status == 200
    assert Api(locked.url, token).get("/api/rules").status == 200


def test_the_password_itself_works_as_a_bearer_token(locked):
    assert Api(locked.url, "hunter2").get("/api/rules").status == 200
    assert Api(locked.url, "wrong").get("/api/rules").status == 401


def test_a_wrong_password_is_401_and_logout_revokes_the_session(locked):
    api = Api(locked.url)
    assert _login(api, "nope").status == 401
    token = _login(api).json["token"]
    session = Api(locked.url, token)
    assert session.post("/api/auth/logout").json == {"ok": True}
    assert session.get("/api/rules").status == 401


def test_more_than_five_failures_give_429_with_retry_after_even_for_the_right_password(locked):
    # A blocked client must not learn the password from the one answer that is not a 429.
    api = Api(locked.url)
    assert [_login(api, "bad").status for _ in range(5)] == [401] * 5
    blocked = _login(api, "bad")
    assert blocked.status == 429 and int(blocked.headers["retry-after"]) > 0
    assert _login(api).status == 429


def test_login_limiter_forgets_failures_after_the_window():
    now = [0.0]
    limiter = LoginLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert limiter.fail("1.2.3.4") is None and limiter.fail("1.2.3.4") is None
    assert limiter.fail("1.2.3.4") == 60
    assert limiter.blocked("1.2.3.4") == 60 and limiter.blocked("5.6.7.8") is None
    assert limiter.fail("5.6.7.8") is None  # per client IP
    now[0] = 61.0
    assert limiter.blocked("1.2.3.4") is None
    assert limiter.fail("1.2.3.4") is None


def test_setting_a_password_at_runtime_protects_immediately_and_keeps_the_callers_session(api, gateway):
    mine = api.post("/api/auth/login", {"password": ""}).json["token"]  # no password yet: any login works
    other = api.post("/api/auth/login", {"password": ""}).json["token"]
    assert Api(gateway.url, mine).put("/api/config", {"admin_password": "s3cret"}).status == 200
    assert api.get("/api/rules").status == 401
    assert Api(gateway.url, mine).get("/api/rules").status == 200
    assert Api(gateway.url, other).get("/api/rules").status == 401
    assert gateway.app.config.admin_password == "s3cret"


def test_changing_the_password_revokes_other_sessions_and_the_old_password(locked):
    api = Api(locked.url)
    mine, other = _login(api).json["token"], _login(api).json["token"]
    reply = Api(locked.url, mine).post("/api/auth/password",
                                       {"current_password": "hunter2", "new_password": "better"})
    assert reply.json == {"ok": True, "auth_enabled": True}
    assert Api(locked.url, other).get("/api/rules").status == 401
    assert Api(locked.url, "hunter2").get("/api/rules").status == 401
    assert Api(locked.url, mine).get("/api/rules").status == 200
    assert _login(api, "better").status == 200


def test_change_password_checks_the_current_one(locked):
    reply = Api(locked.url, "hunter2").post("/api/auth/password", {"current_password": "x", "new_password": "y"})
    assert reply.status == 401 and locked.app.config.admin_password == "hunter2"


def test_clearing_the_password_opens_the_api(locked):
    assert Api(locked.url, "hunter2").put("/api/config", {"admin_password": ""}).status == 200
    assert Api(locked.url).get("/api/rules").status == 200
    assert Api(locked.url).get("/api/auth/status").json["auth_enabled"] is False


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Referer": "http://evil.example/page"}, 403),
    ({"Origin": "http://127.0.0.1:1"}, 403),
    ({}, 201),
    ({"Origin": "SAME"}, 201),
    ({"Referer": "SAME/index.html"}, 201),
])
def test_cross_site_writes_are_refused(api, gateway, headers, status):
    headers = {k: v.replace("SAME", gateway.url) for k, v in headers.items()}
    reply = api.post("/api/rules", {"id": "r", "name": "R", "pattern_path": "*"}, headers=headers)
    assert reply.status == status, reply
    assert (api.get("/api/rules/r").status == 200) is (status == 201)


def test_cross_site_reads_are_not_blocked_by_the_origin_check(api):
    assert api.get("/api/rules", headers={"Origin": "http://evil.example"}).status == 200


def test_without_a_password_a_dns_rebound_host_name_is_refused(api):
    reply = api.get("/api/rules", headers={"Host": "evil.example:11510"})
    assert reply.status == 403 and "admin_password" in reply.json["error"]
    assert api.get("/api/health", headers={"Host": "evil.example:11510"}).status == 200
    assert api.get("/api/rules", headers={"Host": "localhost:11510"}).status == 200


def test_the_unix_socket_needs_no_login(locked, tmp_path):
    from tresor.gateway import server as srv

    path = os.path.join(str(tmp_path), "a.sock")
    unix = srv.UnixServer(path, locked.app, srv.ConnectionTracker())
    srv.start(unix)
    try:
        conn = http.client.HTTPConnection("localhost", timeout=5)
        conn.sock = socket.socket(socket.AF_UNIX)
        conn.sock.connect(path)
        conn.request("GET", "/api/rules")
        assert conn.getresponse().status == 200
    finally:
        unix.shutdown()
        unix.server_close()
