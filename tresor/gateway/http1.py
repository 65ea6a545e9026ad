"""Lean HTTP/1.1 framing for the hot path: request heads (server), requests and responses (upstream).

http.server and http.client parse every head through the email package's feed parser and write
headers one call at a time; on the benchmark that was about a third of the gateway's CPU per request
(BENCHMARKS.md, "Profiling and fixes"). Here heads are plain lists of (name, value) pairs, read with
http.client's limits and raising http.client's exceptions, so callers map errors exactly as before.
Works on file objects (a socket's buffered reader); never opens a socket; imports nothing from Tresor.
"""
from __future__ import annotations

import email.utils
import http.client
import io
import re
import time
from typing import Callable, List, Tuple

MAX_LINE = 65536    # http.client._MAXLINE
MAX_HEADERS = 100   # http.client._MAXHEADERS

Headers = List[Tuple[str, str]]


class MalformedHeader(http.client.HTTPException):
    """A header line a server must refuse with 400 (RFC 9112 §5.1), raised with `is_strict`."""


def read_headers(readline: Callable[[int], bytes], is_strict: bool = False) -> Headers:
    """Read header lines up to the blank line; return [(name, value)] in order, names as sent.

    Values have surrounding whitespace removed; obsolete line folding (a line starting with a space
    or tab) continues the previous value. A line without a colon is skipped, as the email parser
    does. Raises http.client.LineTooLong or http.client.HTTPException (too many headers), like
    http.client.parse_headers. With `is_strict` (a server reading requests), an empty name or
    whitespace between the name and the colon raises MalformedHeader: a proxy in front could read
    such a header differently, which is how requests are smuggled.
    """
    headers: Headers = []
    while True:
        line = readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return headers
        if len(headers) >= MAX_HEADERS:
            raise http.client.HTTPException("got more than %d headers" % MAX_HEADERS)
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and not headers and is_strict:
            raise MalformedHeader("whitespace before the first header line %r" % text[:40])
        if text[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, (value + " " + text.strip()).strip())
            continue
        name, sep, value = text.partition(":")
        if sep and is_strict and name[-1:] in (" ", "\t", ""):
            raise MalformedHeader("whitespace or nothing before the colon in header line %r" % text[:40])
        if sep:
            headers.append((name.rstrip(" \t"), value.strip()))


class DateCache:
    """The RFC 9110 `Date` header value, formatted once per second (thread-safe: one tuple swap)."""

    __slots__ = ("_cached",)

    def __init__(self):
        self._cached = (0, "")

    def now(self) -> str:
        second = int(time.time())
        cached = self._cached
        if cached[0] != second:
            cached = (second, email.utils.formatdate(second, usegmt=True))
            self._cached = cached
        return cached[1]


# Same leniency as http.client (CVE-2019-9740: no control characters or spaces in the target).
_LEGAL_NAME = re.compile(r"[^:\s][^:\r\n]*").fullmatch
_ILLEGAL_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])").search
_BAD_TARGET = re.compile("[\x00-\x20\x7f]").search
_BAD_METHOD = re.compile("[\x00-\x1f]").search
_NO_BODY_STATUS = (204, 304)


def request_bytes(method: str, target: str, headers: Headers, body: bytes) -> bytes:
    """The whole request, head and body, ready for one sendall (one packet for small requests).

    `headers` go out as given (the caller sets Host, Content-Length and the rest). Raises
    ValueError for a method, target, name or value that could inject headers, and
    UnicodeEncodeError for a value outside latin-1, as http.client does.
    """
    if _BAD_METHOD(method):
        raise ValueError("method can't contain control characters: %r" % method)
    if _BAD_TARGET(target):
        raise http.client.InvalidURL("URL can't contain control characters: %r" % target)
    lines = ["%s %s HTTP/1.1\r\n" % (method, target)]
    for name, value in headers:
        value = str(value)
        if not _LEGAL_NAME(name) or _ILLEGAL_VALUE(value):
            raise ValueError("invalid header %r" % name)
        lines.append("%s: %s\r\n" % (name, value))
    lines.append("\r\n")
    head = "".join(lines)
    return head.encode("latin-1") + body


class Response:
    """A response whose head has been read; the body is read from `fp` on demand.

    Mirrors the part of http.client.HTTPResponse the pool uses: `status`, `reason`, `headers`
    ([(name, value)]), `will_close`, `chunked`, `length` (bytes left, None when close-delimited),
    read(), readline(), read1(), isclosed(). Raises http.client.IncompleteRead when the body ends
    early and http.client.HTTPException for broken chunk framing; socket errors pass through.
    With `is_head_only`, `fp` holds one head and nothing else: interim 1xx heads are not skipped
    (response_head() does that) and the body is read elsewhere, guided by the framing attributes.
    """

    __slots__ = ("status", "reason", "headers", "will_close", "chunked", "length", "_fp", "_left", "_done")

    def __init__(self, fp, method: str, is_head_only: bool = False):
        self._fp = fp
        version, self.status, self.reason = _read_status(fp)
        while 100 <= self.status < 200 and self.status != 101 and not is_head_only:  # 100 Continue, 103
            read_headers(fp.readline)
            version, self.status, self.reason = _read_status(fp)
        self.headers = read_headers(fp.readline)
        self._frame(version, method)
        self._left = 0          # bytes left in the current chunk
        self._done = self.length == 0

    def _frame(self, version: str, method: str) -> None:
        fields = {}
        for name, value in self.headers:
            fields.setdefault(name.lower(), value)
        self.chunked = fields.get("transfer-encoding", "").lower().rstrip().endswith("chunked")
        connection = fields.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.will_close = not ("keep-alive" in connection or "keep-alive" in fields)
        else:
            self.will_close = "close" in connection
        self.length = None
        if not self.chunked:
            try:
                length = int(fields.get("content-length", ""))
            except ValueError:
                length = -1
            self.length = length if length >= 0 else None
        if self.status in _NO_BODY_STATUS or self.status < 200 or method == "HEAD":
            self.length = 0
        if not self.chunked and self.length is None:
            self.will_close = True  # the body runs until the server closes the connection

    def isclosed(self) -> bool:
        """True once the whole body has been read."""
        return self._done

    def read(self) -> bytes:
        """The rest of the body."""
        if self._done:
            return b""
        if self.chunked:
            parts = []
            while self._next_chunk():
                size = self._left
                parts.append(self._exact(size))
                self._consumed(size)
            return b"".join(parts)
        if self.length is None:
            data = self._fp.read()
            self._done = True
            return data
        data = self._exact(self.length)
        self.length, self._done = 0, True
        return data

    def readline(self, limit: int = -1) -> bytes:
        """One line including its newline, at most `limit` bytes (all of them when -1); b"" at the end."""
        if self._done:
            return b""
        if not self.chunked:
            if self.length is None:
                line = self._fp.readline(limit)
                self._done = not line
                return line
            cap = self.length if limit < 0 else min(limit, self.length)
            line = self._fp.readline(cap)
            if not line:
                raise http.client.IncompleteRead(b"", self.length)
            self.length -= len(line)
            self._done = self.length == 0
            return line
        parts, size = [], 0
        while (limit < 0 or size < limit) and self._next_chunk():
            cap = self._left if limit < 0 else min(limit - size, self._left)
            part = self._fp.readline(cap)
            if not part:
                raise http.client.IncompleteRead(b"".join(parts))
            self._consumed(len(part))
            parts.append(part)
            size += len(part)
            if part.endswith(b"\n"):
                break
        return b"".join(parts)

    def read1(self, n: int = 65536) -> bytes:
        """Up to `n` body bytes, as soon as any are available; b"" at the end."""
        if self._done:
            return b""
        if self.chunked:
            if not self._next_chunk():
                return b""
            data = self._fp.read1(min(n, self._left))
            if not data:
                raise http.client.IncompleteRead(b"", self._left)
            self._consumed(len(data))
            return data
        data = self._fp.read1(n if self.length is None else min(n, self.length))
        if self.length is None:
            self._done = not data
        elif not data:
            raise http.client.IncompleteRead(b"", self.length)
        else:
            self.length -= len(data)
            self._done = self.length == 0
        return data

    def _exact(self, n: int) -> bytes:
        data = self._fp.read(n)
        if len(data) < n:
            raise http.client.IncompleteRead(data, n - len(data))
        return data

    def _consumed(self, n: int) -> None:
        self._left -= n
        if self._left == 0 and self._fp.readline(MAX_LINE) not in (b"\r\n", b"\n"):
            raise http.client.HTTPException("chunk not followed by CRLF")

    def _next_chunk(self) -> bool:
        """Make sure a chunk has bytes left; False (and done) after the last chunk and trailers."""
        if self._left:
            return True
        line = self._fp.readline(MAX_LINE + 1)
        if not line:
            raise http.client.IncompleteRead(b"")
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("chunk size")
        size = _chunk_size(line)
        if size == 0:
            read_headers(self._fp.readline)  # trailers, ignored
            self._done = True
            return False
        self._left = size
        return True


def _chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions ignored); HTTPException when malformed."""
    try:
        size = int(line.split(b";", 1)[0], 16)
    except ValueError:
        raise http.client.HTTPException("malformed chunk size %r" % line[:40]) from None
    if size < 0:
        raise http.client.HTTPException("negative chunk size")
    return size


def _read_status(fp) -> Tuple[str, int, str]:
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("status line")
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    text = line.decode("iso-8859-1")
    parts = text.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise http.client.BadStatusLine(text)
    try:
        status = int(parts[1])
    except ValueError:
        raise http.client.BadStatusLine(text) from None
    if not 100 <= status <= 999:
        raise http.client.BadStatusLine(text)
    return parts[0], status, (parts[2].strip() if len(parts) > 2 else "")


def head_end(buf, start: int = 0) -> int:
    """Index just past the blank line that ends the head starting at `start` in `buf`, or -1.

    Lines may end in CRLF or a bare LF, mixed (read_headers accepts both): the head ends at the
    first line that is empty, i.e. an LF followed by LF or by CRLF."""
    crlf = buf.find(b"\n\r\n", start)
    lf = buf.find(b"\n\n", start)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf + 2
    return crlf + 3 if crlf >= 0 else -1


def response_head(buf, method: str):
    """Parse the response head at the start of `buf`: (Response without a body source, bytes used), or
    None while the head is incomplete. 1xx interim heads (not 101) are skipped. Raises like Response()."""
    start = 0
    while True:
        end = head_end(buf, start)
        if end < 0:
            if len(buf) - start > MAX_LINE * 2:
                raise http.client.LineTooLong("response head")
            return None
        head = Response(io.BytesIO(bytes(buf[start:end])), method, is_head_only=True)
        if not (100 <= head.status < 200 and head.status != 101):
            return head, end
        start = end


class ChunkedDecoder:
    """Incremental decoder of a chunked body: feed(bytes) -> decoded bytes; `done` after the last chunk
    and its trailers; `leftover` holds bytes that came after the end. Same leniency and errors as
    Response: LF or CRLF line ends, chunk extensions ignored, http.client.HTTPException when broken."""

    __slots__ = ("_buf", "_left", "_state", "_trailers", "done")

    def __init__(self):
        self._buf = bytearray()
        self._left = 0
        self._trailers = 0
        self._state = 0  # 0: size line, 1: data, 2: CRLF after data, 3: trailers
        self.done = False

    @property
    def leftover(self) -> bytes:
        return bytes(self._buf) if self.done else b""

    def feed(self, data: bytes) -> bytes:
        buf = self._buf
        buf += data
        out = []
        while not self.done:
            if self._state == 1:
                if not buf:
                    break
                take = min(self._left, len(buf))
                out.append(bytes(buf[:take]))
                del buf[:take]
                self._left -= take
                if self._left:
                    break
                self._state = 2
                continue
            newline = buf.find(b"\n", 0, MAX_LINE)
            if newline < 0:
                if len(buf) > MAX_LINE:
                    raise http.client.LineTooLong("chunk size" if self._state == 0 else "trailer")
                break
            line = bytes(buf[:newline + 1])
            del buf[:newline + 1]
            self._line(line)
        return b"".join(out)

    def _line(self, line: bytes) -> None:
        if self._state == 2:
            if line not in (b"\r\n", b"\n"):
                raise http.client.HTTPException("chunk not followed by CRLF")
            self._state = 0
        elif self._state == 3:
            self.done = line in (b"\r\n", b"\n")
            self._trailers += 1
            if not self.done and self._trailers > MAX_HEADERS:
                raise http.client.HTTPException("got more than %d headers" % MAX_HEADERS)
        else:
            size = _chunk_size(line)
            self._left, self._state = size, (1 if size else 3)
