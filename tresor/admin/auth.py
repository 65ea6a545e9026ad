"""Admin authentication: sessions, the login rate limit, the cross-site (Origin) check, and the
/api/auth/* handlers (reference §5.1, with its [BUG]s fixed).

Auth follows the *current* `admin_password` on every request, so setting one at runtime protects
the API at once. The unix socket is trusted (its 0600 mode is the auth). Imports no gateway code.
"""
from __future__ import annotations

import collections
import hmac
import ipaddress
import math
import secrets
import threading
import time
from typing import Deque, Dict, List, Optional
from urllib.parse import urlsplit

from tresor.admin import validate
from tresor.errors import ClientError
from tresor.httpio import Request, Response, json_response
from tresor.store import sessions

__all__ = ["LoginLimiter", "COOKIE", "check_origin", "check_access", "caller_token", "status", "login",
           "logout", "change_password"]

COOKIE = "tresor_token"
_COOKIE_ATTRS = "Path=/api/; HttpOnly; SameSite=Strict"  # no Secure: the daemon serves plain http on loopback
_MUTATING = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class LoginLimiter:
    """Failed logins per client IP: more than `limit` within `window_s` seconds blocks that IP.

    Thread-safe. Only failures are recorded, but while an IP is blocked every password attempt
    from it is refused unchecked, the right one included: otherwise a guesser would still learn
    the password from the one answer that is not a 429 (the Go project's limiter allowed that).
    """

    def __init__(self, limit: int = 5, window_s: float = 60.0, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: Dict[str, Deque[float]] = {}

    def fail(self, ip: str) -> Optional[int]:
        """Record a failure from `ip`; return Retry-After seconds when it is now over the limit, else None."""
        now = self._clock()
        with self._lock:
            if len(self._failures) > 10000:  # bound memory under a spray of addresses
                self._sweep(now)
            times = self._failures.setdefault(ip, collections.deque(maxlen=self.limit + 1))
            while times and now - times[0] >= self.window_s:
                times.popleft()
            times.append(now)
            if len(times) <= self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window_s - now))

    def blocked(self, ip: str) -> Optional[int]:
        """Retry-After seconds while `ip` is over the limit, else None (records nothing)."""
        now = self._clock()
        with self._lock:
            times = self._failures.get(ip)
            if not times or len(times) <= self.limit or now - times[0] >= self.window_s:
                return None
            return max(1, math.ceil(times[0] + self.window_s - now))

    def clear(self, ip: str) -> None:
        """Forget the failures of `ip` (after a successful login)."""
        with self._lock:
            self._failures.pop(ip, None)

    def _sweep(self, now: float) -> None:
        for ip in [ip for ip, times in self._failures.items() if not times or now - times[-1] >= self.window_s]:
            del self._failures[ip]


def _cookie_tokens(request: Request) -> List[str]:
    tokens = []
    for part in request.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            tokens.append(value)
    return tokens


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def _is_session(ctx, token: str) -> bool:
    # Tokens are 256-bit random values looked up by index; timing reveals nothing useful about them.
    return bool(token) and sessions.exists(ctx.store.reader(), token)


def caller_token(ctx, request: Request) -> Optional[str]:
    """The valid session token the caller presented (cookie first, then Bearer), or None."""
    for token in _cookie_tokens(request) + [_bearer(request)]:
        if _is_session(ctx, token):
            return token
    return None


def _host_port(netloc: str, scheme: str = "") -> tuple:
    parts = urlsplit("//" + netloc)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None and scheme:
        port = {"http": 80, "https": 443}.get(scheme)
    return (parts.hostname or "").lower(), port


def check_origin(request: Request) -> Optional[Response]:
    """Refuse (403) a mutating request sent by a page of another site; None when it may proceed.

    The Origin (else Referer) host and port must equal the Host header's. Requests without
    either header (CLI, scripts, curl) are allowed: browsers always send one on cross-site writes.
    """
    if request.method not in _MUTATING:
        return None
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return None
    origin = urlsplit(source) if source != "null" else None
    host, port = _host_port(request.headers.get("host", ""))
    if origin is not None and origin.netloc:
        origin_host, origin_port = _host_port(origin.netloc, origin.scheme)
        # A Host without a port came through the scheme's default port, whichever it was.
        if origin_host == host and (port is None or origin_port == port):
            return None
    return json_response(403, {"error": "cross-site request refused: Origin %s does not match Host %s"
                               % (source, request.headers.get("host", "?"))})


def _is_local_host(request: Request) -> bool:
    # Without a password, only names that cannot be DNS-rebound to us are accepted: a page on
    # evil.example resolved to 127.0.0.1 would otherwise pass the Origin check as same-site.
    host, _ = _host_port(request.headers.get("host", ""))
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def check_access(ctx, request: Request) -> Optional[Response]:
    """Gate a protected route: None when the caller may proceed, else the 401/403/429 response.

    Accepted: the unix socket; no password configured (from a local Host name); a session token
    in the cookie or as Bearer; the password itself as Bearer (constant-time compare; failures
    count toward the login rate limit).
    """
    if request.is_trusted_socket:
        return None
    password = ctx.config.admin_password
    if not password:
        if _is_local_host(request):
            return None
        return json_response(403, {"error": "the admin API is only served to local host names while "
                                   "admin_password is empty; set a password to use it through a host name"})
    if caller_token(ctx, request) is not None:
        return None
    bearer = _bearer(request)
    retry_after = ctx.login_limiter.blocked(request.client_ip) if bearer else None
    if retry_after is not None:
        return _too_many(retry_after)
    if bearer and hmac.compare_digest(bearer.encode(), password.encode()):
        return None
    if bearer:
        retry_after = ctx.login_limiter.fail(request.client_ip)
        if retry_after is not None:
            return _too_many(retry_after)
    return json_response(401, {"error": "unauthorized"}, [("WWW-Authenticate", 'Bearer realm="tresor"')])


def _too_many(retry_after: int) -> Response:
    return json_response(429, {"error": "too many login attempts, please wait"},
                         [("Retry-After", str(retry_after))])


def status(ctx, request: Request, params: dict):
    """GET /api/auth/status (public): whether a password is set and whether this caller is logged in."""
    enabled = bool(ctx.config.admin_password)
    authenticated = request.is_trusted_socket or not enabled or caller_token(ctx, request) is not None
    return {"auth_enabled": enabled, "authenticated": authenticated}


def _password_matches(ctx, sent: str) -> bool:
    configured = ctx.config.admin_password
    return not configured or hmac.compare_digest(sent.encode(), configured.encode())


def login(ctx, request: Request, params: dict):
    """POST /api/auth/login (public) `{"password"}` -> `{"ok": true, "token"}` plus the session cookie.

    Without a configured password any login succeeds (as in Go). A wrong password is a 401 and
    counts toward the per-IP limit; past it every attempt is 429 with Retry-After.
    """
    body = validate.read_json(request, ("password",))
    sent = validate.text(body, "password") or ""
    retry_after = ctx.login_limiter.blocked(request.client_ip)
    if retry_after is not None:
        return _too_many(retry_after)
    if not _password_matches(ctx, sent):
        retry_after = ctx.login_limiter.fail(request.client_ip)
        if retry_after is not None:
            return _too_many(retry_after)
        raise ClientError("invalid password", 401)
    ctx.login_limiter.clear(request.client_ip)
    token = secrets.token_hex(32)
    ctx.store.write(sessions.create, token)
    cookie = "%s=%s; %s; Max-Age=31536000" % (COOKIE, token, _COOKIE_ATTRS)
    return json_response(200, {"ok": True, "token": token}, [("Set-Cookie", cookie)])


def logout(ctx, request: Request, params: dict):
    """POST /api/auth/logout (public): revoke the caller's own session and clear the cookie."""
    for token in _cookie_tokens(request)[:1] or [_bearer(request)]:
        if token:
            ctx.store.write(sessions.delete, token)
    cookie = "%s=; %s; Max-Age=0" % (COOKIE, _COOKIE_ATTRS)
    return json_response(200, {"ok": True}, [("Set-Cookie", cookie)])


def change_password(ctx, request: Request, params: dict):
    """POST /api/auth/password `{"current_password", "new_password"}`: set, change ("") or clear it.

    `current_password` must match when a password is set (wrong ones count toward the login
    limit). Takes effect at once, revokes every other session, and is written to config.yaml.
    """
    from tresor.admin import config as config_admin

    body = validate.read_json(request, ("current_password", "new_password"))
    new = body.get("new_password")
    if not isinstance(new, str):
        raise ClientError("new_password is required (a string; \"\" clears the password)", 400)
    retry_after = ctx.login_limiter.blocked(request.client_ip)
    if retry_after is not None:
        return _too_many(retry_after)
    if not _password_matches(ctx, validate.text(body, "current_password") or ""):
        retry_after = ctx.login_limiter.fail(request.client_ip)
        if retry_after is not None:
            return _too_many(retry_after)
        raise ClientError("current_password is wrong", 401)
    config_admin.apply(ctx, request, {"admin_password": new})
    return {"ok": True, "auth_enabled": bool(new)}
