"""Forwarding to downstream providers: connection pool, timeouts, keep-alive retry.

http.client opens connections (TCP, CONNECT tunnel, TLS); requests and responses are framed by
http1, which is leaner than http.client's email-based parsing on the hot path.

Owns the upstream socket lifecycle (reference §3.10–3.12, §3.17 via proxy.py) and turns every
transport failure into an UpstreamError (502, 504 for timeouts) that names the downstream and host.
Bytes in, bytes out: never parses JSON. Must not import formats, plugins, store or engine.
"""
from __future__ import annotations

import functools
import http.client
import os
import re
import select
import socket
import ssl
import threading
import time
from typing import Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from tresor.errors import UpstreamError
from tresor.gateway import http1, proxy as proxies

__all__ = ["HeadView", "Pool", "UpstreamResponse", "body_error", "exchange_error", "join_url", "request_bytes",
           "ssl_context"]

# "scheme://authority" and the request target (path + query, fragment dropped).
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)([^#]*)")
# Set by send() itself; a caller's copy would be wrong (hop-by-hop) or duplicated.
_MANAGED = frozenset(("host", "accept-encoding", "content-length", "transfer-encoding", "connection",
                      "proxy-connection", "keep-alive", "te", "trailer", "upgrade", "expect",
                      "proxy-authorization"))
_BODYLESS = frozenset(("GET", "HEAD", "DELETE", "OPTIONS", "TRACE"))
# A reused idle connection failing like this before any response byte lost the keep-alive race:
# the server closed it as we sent. Sockets closed earlier are caught by _is_dropped() first, so the
# window is tiny; one transparent retry is the usual trade-off (urllib3, browsers).
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ssl.SSLEOFError,
          ssl.SSLZeroReturnError)
_TRANSPORT = (OSError, http.client.HTTPException)
# socket.timeout is TimeoutError only from 3.10; a kernel-level ETIMEDOUT is TimeoutError on 3.9 too.
_TIMEOUT = (socket.timeout, TimeoutError)
_HAS_POLL = hasattr(select, "poll")
_ORIGIN_CACHE_MAX = 256


def join_url(base: str, path: str, query: str = "") -> str:
    """The upstream URL for `path` on downstream `base` (reference §3.10).

    A base path that the request path repeats is not doubled (`https://h/v1` + `/v1/chat/completions`
    -> `https://h/v1/chat/completions`), matching whole segments only; neither is a version segment
    that ends the base (`https://openrouter.ai/api/v1` + `/v1/chat/completions` ->
    `…/api/v1/chat/completions`). Gemini paths keep the Go port's observable result: base `…/v1` +
    `/v1beta/…` -> `…/v1beta/…`. `query` is raw, without `?`.
    """
    base = base.rstrip("/")
    slash = base.find("/", base.find("//") + 2) if "//" in base else base.find("/")
    prefix = base[slash:] if slash >= 0 else ""
    if prefix:
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix):]
        elif prefix.endswith("/v1") and path.startswith("/v1beta/"):
            base = base[:-3]
        else:
            last = prefix[prefix.rfind("/"):]  # e.g. "/v1" of "/api/v1"
            if last != "/" and (path == last or path.startswith(last + "/")):
                path = path[len(last):]
    url = base + path
    return url + "?" + query if query else url


@functools.lru_cache(maxsize=None)
def ssl_context() -> ssl.SSLContext:
    """The shared client TLS context: system CA store, hostname checked, ALPN http/1.1.

    Built once on first use (loading the CA store takes tens of ms); never mutated afterwards.
    """
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])  # what http.client offers with its own default context
    return context


class _Lean:
    """Mixin for http.client connections: http.client connects, http1 reads the responses.

    One buffered reader per connection, kept across keep-alive requests (http.client makes a new
    one per response). http.client.HTTPConnection.connect() already sets TCP_NODELAY (checked on
    3.9 and 3.11), so small SSE writes are not delayed. auto_open=0: never reconnect behind the
    pool's back.
    """

    auto_open = 0
    reader = None

    def response(self, method: str) -> http1.Response:
        """Read the next response head on this connection."""
        if self.reader is None:
            self.reader = self.sock.makefile("rb")
        return http1.Response(self.reader, method)

    def close(self) -> None:
        # The reader holds a reference to the socket: close it first or the fd stays open.
        reader, self.reader = self.reader, None
        if reader is not None:
            reader.close()
        super().close()


class _HTTPConnection(_Lean, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Lean, http.client.HTTPSConnection):
    pass


class _Origin(NamedTuple):
    key: tuple                       # pool key: (scheme, host, port, proxy)
    scheme: str
    host: str
    port: int
    host_header: str
    label: str                       # host:port for messages
    proxy: Optional[proxies.Proxy]
    is_tunnel: bool                  # CONNECT through the proxy (https) vs absolute-URI requests


class _Call(NamedTuple):
    """Per-request context for error messages and timeouts."""

    origin: _Origin
    idle_timeout: float
    downstream_id: str


def _error(downstream_id: str, text: str, status: int = 502, is_retryable: bool = False) -> UpstreamError:
    prefix = "downstream %s: " % downstream_id if downstream_id else ""
    return UpstreamError(prefix + text, status=status, retryable=is_retryable,
                         downstream_id=downstream_id or None)


def _connect_error(call: _Call, e: BaseException, timeout: float) -> UpstreamError:
    """Connect-phase failures: nothing was sent, so every one of them is retryable."""
    origin, proxy, ds = call.origin, call.origin.proxy, call.downstream_id
    where = origin.label if proxy is None else "proxy %s:%d" % (proxy.host, proxy.port)
    if isinstance(e, socket.gaierror):
        text = "cannot resolve %s" % (origin.host if proxy is None else proxy.host)
    elif isinstance(e, _TIMEOUT):
        return _error(ds, "timed out connecting to %s after %g s" % (where, timeout), 504, True)
    elif isinstance(e, ssl.SSLError):
        reason = getattr(e, "verify_message", None) or (e.reason or str(e)).replace("_", " ").lower()
        text = "TLS handshake with %s failed: %s" % (origin.host, reason)
    elif isinstance(e, ConnectionRefusedError):
        text = "cannot connect to %s (connection refused)" % where
    elif str(e).startswith("Tunnel connection failed: "):
        text = "%s refused to tunnel to %s (%s)" % (where, origin.label, str(e)[26:])
    else:
        text = "cannot connect to %s (%s)" % (where, getattr(e, "strerror", None) or e)
    return _error(ds, text, 502, True)


def exchange_error(call: _Call, e: BaseException) -> UpstreamError:
    """Failures after the request was (maybe) sent: not retryable, the upstream may have acted on it."""
    label, ds = call.origin.label, call.downstream_id
    if isinstance(e, _TIMEOUT):
        return _error(ds, "%s sent no response for %g s" % (label, call.idle_timeout), 504)
    if isinstance(e, _STALE):
        return _error(ds, "%s closed the connection without a response" % label)
    if isinstance(e, http.client.HTTPException):
        return _error(ds, "%s sent a malformed response (%s)" % (label, e.__class__.__name__))
    return _error(ds, "connection to %s failed (%s)" % (label, getattr(e, "strerror", None) or e))


def request_bytes(call: _Call, method: str, target: str, headers, body: bytes) -> bytes:
    """The whole upstream request (head and body) for one send; Host, framing and encoding set here."""
    origin = call.origin
    lines = [("Host", origin.host_header)]
    lines.extend((name, value) for name, value in headers if name.lower() not in _MANAGED)
    # Compression stays off: some providers answered Brotli, which leaked into SSE (Go commit 07c2eec).
    lines.append(("Accept-Encoding", "identity"))
    if body or method not in _BODYLESS:
        lines.append(("Content-Length", str(len(body))))
    if origin.proxy is not None and origin.proxy.auth and not origin.is_tunnel:
        lines.append(("Proxy-Authorization", origin.proxy.auth))
    return http1.request_bytes(method, target, lines, body)


def _is_dropped(sock) -> bool:
    # A readable idle keep-alive socket means the server closed it (or sent junk): reusing it would
    # lose the keep-alive race. Same check as urllib3's wait_for_read(sock, timeout=0).
    try:
        if _HAS_POLL:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError, TypeError):
        return True


class Pool:
    """Keep-alive HTTP/1.1 connections to downstreams, per (scheme, host, port, proxy).

    Thread-safe: one lock guards the idle lists and is never held during I/O. Idle connections
    older than `idle_ttl_s` are closed, at most `max_idle_per_host` are kept per key.
    `proxy_mode` and `environ` (default: a copy of os.environ) are read by proxy.compile().
    """

    def __init__(self, proxy_mode: str = "auto", environ: Optional[Mapping[str, str]] = None,
                 max_idle_per_host: int = 256, idle_ttl_s: float = 30.0):
        self._environ = dict(os.environ if environ is None else environ)
        self._max_idle = max_idle_per_host
        self._ttl = idle_ttl_s
        self._lock = threading.Lock()
        self._idle: Dict[tuple, List[Tuple[http.client.HTTPConnection, float]]] = {}
        self._swept_at = time.monotonic()
        self._is_closed = False
        # Test hook: CONNECT-tunnel plain http too, so the tunnel is testable without TLS certificates.
        self._is_tunnel_http = False
        self.set_proxy_mode(proxy_mode)

    def set_proxy_mode(self, mode: str) -> None:
        """Switch proxy mode live: later requests use it; idle connections are closed, in-flight ones finish."""
        # One attribute, swapped atomically: a resolve racing the switch fills the old, discarded cache.
        self._routing: Tuple[proxies.ProxyPolicy, Dict[str, _Origin]] = (proxies.compile(mode, self._environ), {})
        self._drop_idle()

    def close(self) -> None:
        """Close every idle connection; responses still open close their sockets when released."""
        self._is_closed = True
        self._drop_idle()

    def send(self, method: str, url: str, headers: List[Tuple[str, str]], body: bytes, *,
             connect_timeout: float = 10.0, idle_timeout: float = 300.0,
             downstream_id: str = "", begun: Optional[Tuple[object, int]] = None) -> "UpstreamResponse":
        """Send one request and return once the response headers arrived.

        `headers` are sent as given, minus hop-by-hop names; Host, Content-Length and
        `Accept-Encoding: identity` are set here. Connecting is bounded by `connect_timeout`, every
        later read or write by `idle_timeout` (between bytes, so a producing stream is never cut).
        A reused connection that turns out dead is retried once on a fresh one; nothing else is
        retried. The caller must close() the response. Raises UpstreamError (502; 504 on timeouts).
        `begun` is (connection from take_idle(), bytes of this request already written on it): the
        event loop starts the send so that waking the thread that finishes it overlaps the upstream.
        """
        call, target = self._call(url, idle_timeout, downstream_id)
        for is_retry in (False, True):
            conn, skip = begun if begun is not None and not is_retry else (None, 0)
            if conn is None and not is_retry:
                conn = self._take(call.origin.key)
            is_reused = conn is not None
            if conn is None:
                conn = self._connect(call, connect_timeout)
            try:
                if conn.sock.gettimeout() != idle_timeout:  # settimeout() is a syscall even when unchanged
                    conn.sock.settimeout(idle_timeout)
                data = request_bytes(call, method, target, headers, body)
                conn.sock.sendall(data[skip:] if skip else data)  # one send
                resp = conn.response(method)
            except _STALE as e:
                conn.close()
                if is_reused:
                    continue  # the keep-alive race (see _STALE)
                raise exchange_error(call, e) from e
            except _TRANSPORT as e:
                conn.close()
                raise exchange_error(call, e) from e
            except BaseException:
                conn.close()
                raise
            return UpstreamResponse(self, conn, resp, call)
        raise AssertionError("unreachable: the retry loop returns or raises")

    def take_idle(self, url: str, idle_timeout: float, downstream_id: str):
        """(connection, call, request target) of a live idle connection for `url`, or None.

        For a caller that does its own non-blocking I/O on `connection.sock` (the event loop); it
        must hand the connection back with release() only after a complete response, else close it.
        Raises UpstreamError for an invalid URL, like send().
        """
        call, target = self._call(url, idle_timeout, downstream_id)
        conn = self._take(call.origin.key)
        if conn is None:
            return None
        reader, conn.reader = conn.reader, None  # the caller reads the socket itself from here on
        if reader is not None:
            reader.close()
        return conn, call, target

    def release(self, call: _Call, conn) -> None:
        """Pool `conn` again after a complete response taken through take_idle()."""
        self._release(call.origin.key, conn)

    def _call(self, url: str, idle_timeout: float, downstream_id: str) -> Tuple[_Call, str]:
        match = _URL.match(url)
        if match is None:
            raise _error(downstream_id, "invalid upstream URL %r" % url)
        head, target = match.groups()
        origin = self._routing[1].get(head)
        if origin is None:
            origin = self._resolve(head, downstream_id)
        call = _Call(origin, idle_timeout, downstream_id)
        if not target.startswith("/"):
            target = "/" + target
        if origin.proxy is not None and not origin.is_tunnel:
            target = head + target  # plain HTTP via a proxy: absolute-URI request target (RFC 9112 3.2.2)
        return call, target

    def _resolve(self, head: str, downstream_id: str) -> _Origin:
        """Parse scheme://authority once and decide its proxy; cached until the proxy mode changes."""
        try:
            parts = urlsplit(head)
            scheme, host = parts.scheme.lower(), parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            scheme, host, port = "", "", 0
        if scheme not in ("http", "https") or not host:
            raise _error(downstream_id, "invalid upstream URL %r" % head)
        policy, origins = self._routing
        proxy = policy.select(scheme, host, port)
        if proxy is not None and proxy.scheme != "http":
            raise _error(downstream_id, "proxy scheme %r is not supported (use an http:// proxy)" % proxy.scheme)
        bracketed = "[%s]" % host if ":" in host else host
        default = 443 if scheme == "https" else 80
        origin = _Origin((scheme, host, port, proxy), scheme, host, port,
                         bracketed if port == default else "%s:%d" % (bracketed, port),
                         "%s:%d" % (bracketed, port), proxy,
                         proxy is not None and (scheme == "https" or self._is_tunnel_http))
        if len(origins) >= _ORIGIN_CACHE_MAX:
            origins.clear()
        origins[head] = origin
        return origin

    def _connect(self, call: _Call, timeout: float) -> http.client.HTTPConnection:
        origin, proxy = call.origin, call.origin.proxy
        host, port = (origin.host, origin.port) if proxy is None else (proxy.host, proxy.port)
        if origin.scheme == "https":
            conn = _HTTPSConnection(host, port, timeout=timeout, context=ssl_context())
        else:
            conn = _HTTPConnection(host, port, timeout=timeout)
        if origin.is_tunnel:
            conn.set_tunnel(origin.host, origin.port,
                            {"Proxy-Authorization": proxy.auth} if proxy.auth else None)
        try:
            conn.connect()  # socket timeout = connect_timeout for TCP, CONNECT and the TLS handshake
        except _TRANSPORT as e:
            conn.close()
            raise _connect_error(call, e, timeout) from e
        return conn

    def _take(self, key: tuple) -> Optional[http.client.HTTPConnection]:
        while True:
            conn = self._pop(key)
            if conn is None or not _is_dropped(conn.sock):
                return conn
            conn.close()

    def _pop(self, key: tuple) -> Optional[http.client.HTTPConnection]:
        now, expired = time.monotonic(), []
        conn = None
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                conn, since = idle.pop()  # newest first: the likeliest to be alive
                if now - since > self._ttl:
                    # Lists are oldest-first, so when the newest expired all of them did.
                    expired = [conn] + [c for c, _ in idle]
                    idle.clear()
                    conn = None
        for c in expired:
            c.close()
        return conn

    def _release(self, key: tuple, conn: http.client.HTTPConnection) -> None:
        """Park a connection whose response was fully read; closes whatever falls out of the pool."""
        now = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(key, [])
            idle.append((conn, now))
            excess = len(idle) if self._is_closed else len(idle) - self._max_idle
            doomed = [c for c, _ in idle[:max(excess, 0)]]
            del idle[:max(excess, 0)]
            if now - self._swept_at > self._ttl:
                self._swept_at = now
                doomed.extend(self._expire_locked(now))
        for c in doomed:
            c.close()

    def sweep(self) -> None:
        """Close idle connections older than `idle_ttl_s`. Called periodically by the daemon:
        otherwise expiry only happens on the next request, and a quiet daemon would keep up to
        `max_idle_per_host` sockets per host that the provider has long closed (CLOSE_WAIT)."""
        now = time.monotonic()
        with self._lock:
            self._swept_at = now
            doomed = self._expire_locked(now)
        for conn in doomed:
            conn.close()

    def _expire_locked(self, now: float) -> List[http.client.HTTPConnection]:
        # Sweeps keys that are no longer used; the caller holds the lock and closes the result.
        doomed = []
        for key in list(self._idle):
            idle = self._idle[key]
            fresh = [(c, since) for c, since in idle if now - since <= self._ttl]
            doomed.extend(c for c, since in idle if now - since > self._ttl)
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]
        return doomed

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _ in conns:
                conn.close()


def _drain(sock, resp: http1.Response, limit: int = 65536, wait_s: float = 0.05) -> None:
    """Read what is left of a chunked body for at most `wait_s` and `limit` bytes.

    A translated stream stops reading at its terminal event (`data: [DONE]`, `message_stop`), so the
    body's last chunk is usually already in the buffer, unread; without this the connection could
    not be pooled and the next request would reconnect. A body that is still producing (the client
    went away mid-stream) is left alone: the caller closes the connection.
    """
    old, deadline = sock.gettimeout(), time.monotonic() + wait_s
    try:
        sock.settimeout(wait_s)
        total = 0
        while not resp.isclosed() and total < limit and time.monotonic() < deadline:
            total += len(resp.read1(limit))
    except _TRANSPORT:
        return
    finally:
        try:
            sock.settimeout(old)
        except OSError:
            pass


class HeadView:
    """`header()` and `is_event_stream` over `self.headers`, a list of (name, value) as received."""

    __slots__ = ()

    def header(self, name: str) -> Optional[str]:
        """The first value of header `name` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def is_event_stream(self) -> bool:
        """True when the media type is text/event-stream (parameters ignored)."""
        media = (self.header("content-type") or "").split(";", 1)[0]
        return media.strip().lower() == "text/event-stream"


class UpstreamResponse(HeadView):
    """A downstream's response, headers read, body not yet.

    `status`, `reason` and `headers` (list of (name, value) as received, in order) are plain
    attributes. Read the body with read(), readline() (SSE) or iter_chunks()/read1() (raw relay).
    Body failures raise UpstreamError (504 when the upstream
    stalls for idle_timeout, 502 otherwise). Always close(), which pools or closes the connection.
    """

    __slots__ = ("status", "reason", "headers", "_pool", "_conn", "_resp", "_call")

    def __init__(self, pool: Pool, conn, resp: http1.Response, call: _Call):
        self.status: int = resp.status
        self.reason: str = resp.reason
        self.headers: List[Tuple[str, str]] = resp.headers
        self._pool = pool
        self._conn = conn
        self._resp = resp
        self._call = call

    def read(self) -> bytes:
        """The whole remaining body (Content-Length, chunked or until close)."""
        try:
            return self._resp.read()
        except _TRANSPORT as e:
            raise self._failed(e) from e

    def readline(self, limit: int = 1 << 20) -> bytes:
        """One line including its newline (at most `limit` bytes); b"" at the end of the body."""
        try:
            return self._resp.readline(limit)
        except _TRANSPORT as e:
            raise self._failed(e) from e

    def read1(self, n: int = 65536) -> bytes:
        """Up to `n` bytes as soon as any are available; b"" at the end of the body."""
        try:
            return self._resp.read1(n)
        except _TRANSPORT as e:
            raise self._failed(e) from e

    def iter_chunks(self, n: int = 65536) -> Iterator[bytes]:
        """Yield body bytes as they arrive (for relaying a stream unchanged)."""
        while True:
            chunk = self.read1(n)
            if not chunk:
                return
            yield chunk

    def abort(self) -> None:
        """Wake a thread blocked reading this response by shutting the socket down (any thread)."""
        conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Release the connection: pooled if the body was fully read and keep-alive is allowed,
        else closed (so a client that went away also closes the upstream socket). Idempotent."""
        conn, resp = self._conn, self._resp
        if conn is None:
            return
        self._conn = None
        if not resp.isclosed() and resp.chunked and not resp.will_close and conn.sock is not None:
            _drain(conn.sock, resp)
        if resp.isclosed() and not resp.will_close and conn.sock is not None:
            self._pool._release(self._call.origin.key, conn)
            return
        conn.close()

    def __enter__(self) -> "UpstreamResponse":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _failed(self, e: BaseException) -> UpstreamError:
        # Never pooled: the framing may already count a truncated body as finished.
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        return body_error(self._call, e)


def body_error(call: _Call, e: BaseException) -> UpstreamError:
    """The UpstreamError for a failure while reading a response body (504 for a stall)."""
    label, ds = call.origin.label, call.downstream_id
    if isinstance(e, _TIMEOUT):
        return _error(ds, "%s stalled: no data for %g s" % (label, call.idle_timeout), 504)
    if isinstance(e, (http.client.IncompleteRead, ConnectionError, ssl.SSLError)):
        return _error(ds, "%s closed the connection mid-response" % label)
    if isinstance(e, http.client.HTTPException):
        return _error(ds, "%s sent a malformed response body (%s)" % (label, e.__class__.__name__))
    return _error(ds, "connection to %s failed mid-response (%s)" % (label, getattr(e, "strerror", None) or e))
