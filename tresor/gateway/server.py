"""HTTP/1.1 servers on ThreadingHTTPServer (TCP) and a unix socket, with a thin handler.

The handler turns the wire into an httpio.Request, calls `app.handle`, and writes the Response
(Content-Length, or chunked with a flush per chunk for streams). It is the one error boundary
for the socket surface: an unexpected exception becomes a 500 JSON error, never a dropped thread.
"""
from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import re
import socket
import socketserver
import stat
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple

from tresor import __version__
from tresor.errors import ClientError
from tresor.gateway import http1
from tresor.httpio import SECURITY_HEADERS, Request, Response, json_response

log = logging.getLogger("tresor.server")

_HOP_BY_HOP = frozenset(("connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
                         "proxy-connection", "te", "trailer"))
_QUERY_KEY = re.compile(r"([?&]key=)[^&\s\"']*", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_FAST_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
_SECURITY_LINES = tuple((name.lower(), "%s: %s\r\n" % (name, value)) for name, value in SECURITY_HEADERS)
_REASONS = {int(code): phrase for code, (phrase, _) in BaseHTTPRequestHandler.responses.items()}


def _set_timeout(sock, seconds: float) -> None:
    # settimeout() costs a syscall (ioctl FIONBIO) even when nothing changes, twice per request.
    if sock.gettimeout() != seconds:
        sock.settimeout(seconds)


class ConnectionTracker:
    """Counts requests in flight and remembers open client sockets, for a graceful shutdown."""

    def __init__(self):
        self._cond = threading.Condition()
        self._busy = 0
        self._sockets = {}  # socket -> is handling a request
        self.is_draining = False

    def opened(self, sock) -> None:
        with self._cond:
            self._sockets[sock] = False

    def closed(self, sock) -> None:
        with self._cond:
            self._sockets.pop(sock, None)

    def begin(self, sock) -> None:
        with self._cond:
            self._busy += 1
            self._sockets[sock] = True

    def end(self, sock) -> None:
        with self._cond:
            self._busy -= 1
            if sock in self._sockets:
                self._sockets[sock] = False
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no request is in flight or `timeout` seconds pass; True when idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return self._busy == 0

    def close_idle(self) -> None:
        """Shut down keep-alive connections that are waiting for their next request."""
        with self._cond:
            idle = [s for s, busy in self._sockets.items() if not busy]
        for sock in idle:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _client_ip(peer: str, headers: dict) -> str:
    # Behind a reverse proxy on the same host, the real client is in the forwarding headers
    # (reference §3.18, Go commit 53a9062); from any other peer those headers are not trusted.
    if peer == "127.0.0.1" or peer == "":  # the common case, without ipaddress's parsing cost
        is_loopback = True
    else:
        try:
            is_loopback = ipaddress.ip_address(peer).is_loopback
        except ValueError:
            is_loopback = False
    if is_loopback:
        forwarded = headers.get("x-real-ip") or headers.get("x-forwarded-for", "").split(",")[0]
        if forwarded.strip():
            return forwarded.strip()
    return peer


class _DeadlineReader:
    """rfile stand-in for the request line and headers: every read gets only the time left until
    one deadline, so a client trickling bytes (slow-loris) cannot hold a thread for long."""

    def __init__(self, rfile, sock, deadline: float):
        self._rfile, self._sock, self._deadline = rfile, sock, deadline

    def readline(self, limit: int = -1) -> bytes:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("request headers took too long")
        self._sock.settimeout(remaining)
        return self._rfile.readline(limit)


class Handler(BaseHTTPRequestHandler):
    """Thin request handler; `self.server` carries `app`, `tracker` and `is_trusted_socket`.

    The request head of an ordinary HTTP/1.0 or 1.1 request is parsed here with http1.read_headers
    and the response head is written in one piece: http.server's email-based parser and per-header
    writes were most of the gateway's CPU per request. Unusual request lines still go through
    http.server's own parse_request, so its validation and error statuses stay.
    """

    protocol_version = "HTTP/1.1"
    server_version = "Tresor/" + __version__
    sys_version = ""
    timeout = 120  # seconds a client may stay silent (body, or an idle keep-alive)
    header_timeout = 15.0  # seconds from a request's first byte to the end of its headers

    def setup(self):
        super().setup()
        self._raw_rfile = self.rfile
        self.server.tracker.opened(self.connection)

    def handle_one_request(self):
        raw = self.rfile = self._raw_rfile
        _set_timeout(self.connection, self.timeout)
        try:
            if not raw.peek(1):  # waits up to `timeout` for the next request on a kept-alive connection
                self.close_connection = True
                return
        except (OSError, ValueError):
            self.close_connection = True
            return
        if b"\r\n\r\n" not in raw.peek():  # head not all buffered yet: bound the time to read it
            self.rfile = _DeadlineReader(raw, self.connection, time.monotonic() + self.header_timeout)
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return  # the error response has been sent
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method (%r)" % self.command)
                return
            method()
        except socket.timeout as e:  # a read or a write timed out: drop the connection
            self.log_error("Request timed out: %r", e)
            self.close_connection = True

    def parse_request(self):
        words = self.raw_requestline.split()
        if len(words) != 3 or words[2] not in _FAST_VERSIONS:
            is_ok = super().parse_request()  # rare shapes: http.server's validation and errors
            if is_ok:  # from here on one shape of head, whichever parser read it
                self.header_list = list(self.headers.items())
                self.headers = {k.lower(): v for k, v in self.header_list}
            return is_ok
        self.command, self.path, self.request_version = (w.decode("iso-8859-1") for w in words)
        self.requestline = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        if self.path.startswith("//"):  # gh-87389, as http.server does
            self.path = "/" + self.path.lstrip("/")
        try:
            self.header_list = http1.read_headers(self.rfile.readline, is_strict=True)
        except http1.MalformedHeader as err:
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed header", str(err))
            return False
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err))
            return False
        self.headers = headers = {k.lower(): v for k, v in self.header_list}
        connection = headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive")
        if headers.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.tracker.closed(self.connection)

    def address_string(self) -> str:
        peer = self.client_address
        return peer[0] if isinstance(peer, tuple) and peer else "unix"

    def log_message(self, fmt, *args):
        if log.isEnabledFor(logging.DEBUG):
            # The request line may carry a Gemini-style ?key= credential: never logged (SPEC §8).
            log.debug("%s %s", self.address_string(), _QUERY_KEY.sub(r"\1***", fmt % args))

    def log_request(self, code="-", size="-"):
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(code, size)

    def send_error(self, code, message=None, explain=None):
        # Replaces http.server's HTML error page (bad request line, header too large, …). A request
        # line too broken to parse leaves version "HTTP/0.9", which would suppress the status line.
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.1"
        self._write(json_response(code, {"error": {"message": message or self.responses.get(code, ("",))[0],
                                                   "type": "invalid_request_error"}}), head_only=False)

    def _dispatch(self):
        self.rfile = self._raw_rfile  # headers are in: the body is read with the normal timeout
        _set_timeout(self.connection, self.timeout)
        self.server.tracker.begin(self.connection)
        try:
            response = self._respond()
            if self.server.tracker.is_draining:
                self.close_connection = True
            self._write(response, head_only=self.command == "HEAD")
        finally:
            self.server.tracker.end(self.connection)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch

    def _respond(self) -> Response:
        try:
            request = self._read_request()
            return self.server.app.handle(request)
        except ClientError as e:  # raised while reading the body (too large, malformed framing)
            self.close_connection = True
            return self.server.app.client_error(self.command, self.path.partition("?")[0], e)
        except Exception:
            log.exception("unhandled error on %s %s", self.command, self.path.split("?")[0])
            return json_response(500, {"error": {"message": "internal error in Tresor; see the daemon log",
                                                 "type": "internal_error"}})

    def _read_request(self) -> Request:
        headers = self.headers
        path, _, query = self.path.partition("?")
        body = self._read_body(headers)
        peer = self.address_string() if not self.server.is_trusted_socket else ""
        return Request(self.command, path, query, headers, body, _client_ip(peer, headers),
                       self.server.is_trusted_socket)

    def _read_body(self, headers: dict) -> bytes:
        # Framing is parsed strictly (RFC 9112 §6): wherever Tresor and a proxy in front of it could
        # disagree on where a body ends, the rest of the body would be read as the next request.
        limit = self.server.app.config.max_body_bytes
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":  # the body's end is unknown: 400 and close (§6.3)
                raise ClientError("unsupported Transfer-Encoding %r: only chunked is accepted" % coding[:40], 400)
            if "content-length" in headers:  # request smuggling guard (§6.3)
                raise ClientError("both Content-Length and Transfer-Encoding sent", 400)
            return self._read_chunked(limit)
        length = self._content_length(headers)
        if length > limit:
            raise ClientError("request body of %d bytes is over the %d byte limit (max_body_bytes)"
                              % (length, limit), 413, "request_too_large")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ClientError("request body ended early", 400)
        return body

    def _content_length(self, headers: dict) -> int:
        value = headers.get("content-length")
        if value is None:
            return 0
        # One value of plain ASCII digits: int() would also take "+5", "5_0", " ٥" or a second,
        # different Content-Length, which a proxy in front may read differently.
        values = {v.strip() for k, v in self.header_list if k.lower() == "content-length"}
        if len(values) > 1 or not (value.isdigit() and value.isascii()):
            raise ClientError("invalid Content-Length header", 400)
        return int(value)

    def _read_chunked(self, limit: int) -> bytes:
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            digits = line.split(b";")[0].strip(b" \t\r\n")
            if not _CHUNK_SIZE.fullmatch(digits):
                raise ClientError("malformed chunked request body", 400)
            size = int(digits, 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are read and ignored
                return b"".join(parts)
            total += size
            if total > limit:
                raise ClientError("request body is over the %d byte limit (max_body_bytes)" % limit,
                                  413, "request_too_large")
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.readline(1024) not in (b"\r\n", b"\n"):
                raise ClientError("malformed chunked request body", 400)
            parts.append(data)

    def version_string(self) -> str:
        return self.server_version

    def _write(self, response: Response, head_only: bool) -> None:
        self.log_request(response.status)
        head = ["%s %d %s\r\nServer: %s\r\nDate: %s\r\n" % (
            self.protocol_version, response.status, _REASONS.get(response.status, ""), self.server_version,
            self.server.dates.now())]
        present = set()
        for name, value in response.headers:
            lower = name.lower()
            present.add(lower)
            if lower not in _HOP_BY_HOP:
                head.append("%s: %s\r\n" % (name, value))
        for lower, line in _SECURITY_LINES:
            if lower not in present:
                head.append(line)
        if self.close_connection:
            head.append("Connection: close\r\n")
        self._head = head
        if response.is_stream:
            self._write_stream(response, head_only)
            return
        head.append("Content-Length: %d\r\n" % len(response.body))
        self._send_head_and(b"" if head_only else response.body)

    def _send_head_and(self, data: bytes) -> None:
        # Headers and the first bytes of the body leave in one send: with separate sends, Nagle plus
        # delayed ACK on the client can add ~40 ms per response (reference/clients.md §4).
        self._head.append("\r\n")
        self.wfile.write("".join(self._head).encode("latin-1") + data)

    def _write_stream(self, response: Response, head_only: bool) -> None:
        self._head.append("Transfer-Encoding: chunked\r\n")
        body = response.body
        try:
            chunks = iter(() if head_only else body)
            first = next(chunks, b"")
            self._send_head_and(b"%x\r\n%s\r\n" % (len(first), first) if first else b"")
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True  # the client went away; the finally below frees upstream
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


class TCPServer(ThreadingHTTPServer):
    """The gateway + admin + web UI listener on `bind_addr`."""

    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True
    is_trusted_socket = False

    def __init__(self, address: Tuple[str, int], app, tracker: ConnectionTracker):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.tracker = tracker
        self.dates = http1.DateCache()
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        # SSE events are small writes; Nagle would hold each one back waiting for an ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Admin API + web UI on a unix socket (mode 0600, so the file permissions are the auth)."""

    request_queue_size = 128
    daemon_threads = True
    is_trusted_socket = True

    def __init__(self, path: str, app, tracker: ConnectionTracker):
        self.app = app
        self.tracker = tracker
        self.dates = http1.DateCache()
        _remove_stale_socket(path)
        old_umask = os.umask(0o177)  # the socket must never exist with wider permissions
        try:
            super().__init__(path, Handler)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)


def _remove_stale_socket(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError("socket_path %s exists and is not a socket; refusing to replace it" % path)
    os.unlink(path)


def parse_bind_addr(value: str) -> Tuple[str, int]:
    """'127.0.0.1:11510' / '[::1]:0' / ':8080' -> (host, port); an empty host means all interfaces."""
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def start(server) -> threading.Thread:
    """Serve `server` in a daemon thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="tresor-%s" % type(server).__name__, daemon=True)
    thread.start()
    return thread


def stop(servers, tracker: ConnectionTracker, grace_s: float, socket_path: Optional[str]) -> bool:
    """Stop accepting, wait up to `grace_s` for in-flight requests, close idle connections.

    Returns True when every in-flight request finished within the grace period.
    """
    tracker.is_draining = True
    for server in servers:
        server.shutdown()
        server.server_close()
    is_idle = tracker.wait_idle(grace_s)
    tracker.close_idle()
    if socket_path:
        try:
            os.unlink(socket_path)
        except OSError:
            pass
    return is_idle
