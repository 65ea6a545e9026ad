"""The threaded HTTP/1.1 request handler: the unix socket's server, and the event loop's hand-off.

Turns the wire into an httpio.Request, calls `app.handle`, and writes the Response (Content-Length,
or chunked with a flush per chunk for streams). It is the one error boundary for the socket
surface: an unexpected exception becomes a 500 JSON error, never a dropped thread. The event loop
(loopserver.py) hands a connection to `HandedOverHandler` for one request whenever that request
needs blocking work, with the bytes the loop already read.
"""
from __future__ import annotations

import http.client
import io
import ipaddress
import logging
import re
import socket
import socketserver
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from tresor import __version__
from tresor.errors import ClientError
from tresor.gateway import http1, keepalive
from tresor.httpio import SECURITY_HEADERS, Request, Response, json_response

log = logging.getLogger("tresor.server")

_HOP_BY_HOP = frozenset(("connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
                         "proxy-connection", "te", "trailer"))
_QUERY_KEY = re.compile(r"([?&]key=)[^&\s\"']*", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_FAST_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
_SECURITY_LINES = tuple((name.lower(), "%s: %s\r\n" % (name, value)) for name, value in SECURITY_HEADERS)
SERVER_VERSION = "Tresor/" + __version__
_REASONS = {int(code): phrase for code, (phrase, _) in BaseHTTPRequestHandler.responses.items()}



def _set_timeout(sock, seconds: float) -> None:
    # settimeout() costs a syscall (ioctl FIONBIO) even when nothing changes, twice per request.
    if sock.gettimeout() != seconds:
        sock.settimeout(seconds)


def client_ip(peer: str, headers: dict) -> str:
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


def response_head(response: Response, date: str, close_connection: bool) -> list:
    """The response head as a list of lines without the framing line and the final blank line:
    status line, Server, Date, the response's headers (hop-by-hop removed), the security headers
    it did not set itself, and `Connection: close` when the connection ends after it."""
    head = ["HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n" % (
        response.status, _REASONS.get(response.status, ""), SERVER_VERSION, date)]
    present = set()
    for name, value in response.headers:
        lower = name.lower()
        present.add(lower)
        if lower not in _HOP_BY_HOP:
            head.append("%s: %s\r\n" % (name, value))
    for lower, line in _SECURITY_LINES:
        if lower not in present:
            head.append(line)
    if close_connection:
        head.append("Connection: close\r\n")
    return head


def _masked(text: str) -> str:
    return _QUERY_KEY.sub(r"\1***", text)


def log_access(peer: str, request_line: str, status: int) -> None:
    """The debug access-log line; a Gemini-style ?key= credential is never logged (SPEC §8)."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s \"%s\" %s -", peer, _masked(request_line), status)


class Handler(BaseHTTPRequestHandler):
    """Thin request handler; `self.server` carries `app`, `tracker` and `is_trusted_socket`.

    The request head of an ordinary HTTP/1.0 or 1.1 request is parsed here with http1.read_headers
    and the response head is written in one piece: http.server's email-based parser and per-header
    writes were most of the gateway's CPU per request. Unusual request lines still go through
    http.server's own parse_request, so its validation and error statuses stay.
    """

    protocol_version = "HTTP/1.1"
    server_version = SERVER_VERSION
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
            log.debug("%s %s", self.address_string(), _masked(fmt % args))

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
        return Request(self.command, path, query, headers, body, client_ip(peer, headers),
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
        if not send_response(self.connection, self.wfile.write, response, self.server.dates.now(),
                             self.close_connection, head_only):
            self.close_connection = True  # the client went away mid-stream


def send_response(sock, write, response: Response, date: str, close_connection: bool,
                  head_only: bool = False) -> bool:
    """Write `response` with `write` (a blocking sendall on `sock`): Content-Length, or chunked with
    one write per chunk. Returns False when the client went away during a stream; the stream body
    is closed in every case (which frees its upstream). A keepalive.StreamBody is watched while it
    is written: keep-alive pings, and an abort when the client hangs up.
    """
    head = response_head(response, date, close_connection)
    if not response.is_stream:
        head.append("Content-Length: %d\r\n\r\n" % len(response.body))
        # Head and body leave in one send: with separate sends, Nagle plus delayed ACK on the
        # client can add ~40 ms per response (reference/clients.md §4).
        write("".join(head).encode("latin-1") + (b"" if head_only else response.body))
        return True
    head.append("Transfer-Encoding: chunked\r\n\r\n")
    body, pinger = response.body, None  # pinger: the stream's keepalive.WatchedWriter
    try:
        chunks = iter(() if head_only else body)
        first = next(chunks, b"")
        data = "".join(head).encode("latin-1")
        write(data + b"%x\r\n%s\r\n" % (len(first), first) if first else data)
        if isinstance(body, keepalive.StreamBody) and not head_only:
            pinger = keepalive.WatchedWriter(sock, write, body)
            write = pinger.write
            keepalive.CLOCK.watch(pinger)
        for chunk in chunks:
            if chunk:
                write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        write(b"0\r\n\r\n")
        return True
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        return False
    finally:
        if pinger is not None:
            pinger.close()
            keepalive.CLOCK.unwatch(pinger)
        close = getattr(body, "close", None)
        if close is not None:
            close()


class _PrefixedSocket(io.RawIOBase):
    """A socket's reading side with bytes already read (by the event loop) served first.

    After stop(), reads return the prefix that is left and then end-of-file instead of reading
    the socket, so what the handler's buffer holds can be collected without blocking.
    """

    def __init__(self, prefix: bytes, sock):
        super().__init__()
        self._prefix = memoryview(prefix)
        self._sock = sock
        self._is_stopped = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._is_stopped:
            return 0
        return self._sock.recv_into(buffer)

    def stop(self) -> None:
        self._is_stopped = True


class HandedOverHandler(Handler):
    """Serves exactly one request on a connection the event loop hands over (its socket in
    blocking mode), starting with `prefix`, the bytes the loop had already read. Afterwards
    `leftover` holds bytes read past that request (a pipelined next one) and `close_connection`
    says whether the connection must end; the socket itself is never closed here."""

    def __init__(self, sock, client_address, server, prefix: bytes):
        self._prefix = prefix
        self.leftover = b""
        super().__init__(sock, client_address, server)

    def setup(self):
        self.connection = self.request
        self._raw = _PrefixedSocket(self._prefix, self.connection)
        self.rfile = self._raw_rfile = io.BufferedReader(self._raw)
        self.wfile = socketserver._SocketWriter(self.connection)

    def handle(self):
        self.close_connection = True
        self.handle_one_request()

    def finish(self):
        self._raw.stop()
        parts = []
        try:
            while True:
                part = self._raw_rfile.read1(65536)
                if not part:
                    break
                parts.append(part)
        except (OSError, ValueError):
            self.close_connection = True
        self.leftover = b"".join(parts)
