"""A gateway request forwarded on the event loop: one idle pooled upstream connection, no thread.

Sends the request without blocking, reads the response head, then either reads the whole body
and lets the engine answer (engine.complete: same code as the threaded path), or relays an SSE
stream event by event, byte-identical, as relay._passthrough does (same-format streams without
stream hooks). Failures map to the same UpstreamErrors as the pool's (upstream.exchange_error,
upstream.body_error). A connection that the upstream had closed before answering (the keep-alive
race) sends the request to a worker to be retried on a fresh connection, as Pool.send() does.
"""
from __future__ import annotations

import http.client
import io
import logging
import socket
import ssl
import time
from typing import List, Optional

from tresor import formats
from tresor.formats import ir
from tresor.gateway import engine as engine_module, http1, pipeline, relay
from tresor.gateway import upstream as upstream_module
from tresor.gateway.eventloop import READ, WRITE
from tresor.gateway.exchange import Exchange
from tresor.httpio import Response

log = logging.getLogger("tresor.gateway")

_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ssl.SSLEOFError, ssl.SSLZeroReturnError)
_RECV_SIZE = 65536  # larger buffers cost an mmap + munmap per recv (glibc malloc)


def runs_in_loop(x: Exchange) -> bool:
    """Whether the event loop can forward `x` itself: no payload capture, and a stream only when it
    is relayed unchanged (stream hooks and keep-alive pings need the threaded pipeline)."""
    return x.tee is None and not (x.is_stream and pipeline.has_hook(x.steps, "stream"))


def begin_send(taken, outgoing, pool) -> Optional[tuple]:
    """Write what the socket takes at once of `outgoing` on a connection from Pool.take_idle();
    returns Pool.send()'s `begun` (connection, bytes written), or None (connection given back or
    closed: the worker's own send then starts from scratch)."""
    conn, call, target = taken
    try:
        data = upstream_module.request_bytes(call, outgoing.method, target, outgoing.headers, outgoing.body)
    except Exception:  # a header the pool refuses: the worker's send reports it
        pool.release(call, conn)
        return None
    try:
        if conn.sock.gettimeout() != 0.0:
            conn.sock.settimeout(0.0)
        return conn, conn.sock.send(data)
    except _WOULD_BLOCK:
        return conn, 0
    except OSError:  # dead: the worker opens a new connection
        conn.close()
        return None


class Answer(upstream_module.HeadView):
    """A complete upstream answer, shaped like the UpstreamResponse that relay.respond() reads."""

    __slots__ = ("status", "reason", "headers", "_body", "_on_close")

    def __init__(self, head: http1.Response, body: bytes, on_close):
        self.status, self.reason, self.headers = head.status, head.reason, head.headers
        self._body, self._on_close = body, on_close

    def read(self) -> bytes:
        return self._body

    def close(self) -> None:
        self._on_close()


class UpstreamLeg:
    """The upstream half of one request on the loop; `client` is its loopserver.ClientConnection."""

    def __init__(self, client, x: Exchange, outgoing, taken, raw_request: bytes):
        conn, call, target = taken
        self.client, self.x, self.conn, self.call = client, x, conn, call
        self.engine = client.server.app.engine
        self.loop, self.sock = client.loop, conn.sock
        self.raw_request = raw_request
        self.head: Optional[http1.Response] = None
        self.buf = bytearray()          # the head while it arrives, then SSE bytes not yet a whole event
        self.parts: List[bytes] = []    # body of a non-streamed answer
        self.decoder = self.remaining = None
        self.is_clean = True            # nothing arrived past the body: the connection can be pooled
        self.is_streaming = self.is_relaying = self.is_paused = False
        self.held: List[bytes] = []     # stream events before the first one with data
        self.is_recorded = False
        self.sent_at = time.perf_counter()
        self.deadline: Optional[float] = time.monotonic() + call.idle_timeout
        self.out = b""
        self._events = 0
        self._target, self._outgoing = target, outgoing

    def start(self) -> None:
        """Send the request (call once, after the client connection holds this leg)."""
        outgoing = self._outgoing
        try:
            self.out = upstream_module.request_bytes(self.call, outgoing.method, self._target, outgoing.headers,
                                                     outgoing.body)
            if self.sock.gettimeout() != 0.0:
                self.sock.settimeout(0.0)
        except Exception:  # a header the pool would refuse: the worker's attempt gives the same error
            self._close_upstream(is_reusable=True)
            self.client.retry_in_worker(self.raw_request)
            return
        self._set_events(READ)
        self.loop.watch(self)
        self._send()

    # -- I/O ------------------------------------------------------------------------------------

    def on_event(self, mask: int) -> None:
        try:
            if mask & WRITE and self.out:
                self._send()
            if mask & READ and self.conn is not None:
                self._receive()
        except Exception:  # a bug: end this exchange in the client's format, keep the loop going
            log.exception("unhandled error relaying %s", self.x.request.path)
            self._crashed()

    def _send(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except _WOULD_BLOCK:
            sent = 0
        except OSError as e:
            self._failed(e)
            return
        self.out = self.out[sent:]
        self._set_events(READ | (WRITE if self.out else 0))

    def _receive(self) -> None:
        try:
            data = self.sock.recv(_RECV_SIZE)
            pending = getattr(self.sock, "pending", None)  # TLS: bytes already decrypted are not "readable"
            while data and pending is not None and pending():
                data += self.sock.recv(pending())
        except _WOULD_BLOCK:
            return
        except OSError as e:
            self._failed(e)
            return
        self.deadline = time.monotonic() + self.call.idle_timeout
        if not data:
            self._on_eof()
            return
        if self.head is None:
            self.buf += data
            try:
                parsed = http1.response_head(self.buf, "POST")
            except (http.client.HTTPException, ValueError) as e:
                self._failed(e)
                return
            if parsed is None:
                return
            self.head, used = parsed
            data = bytes(self.buf[used:])
            self.buf = bytearray()
            self._on_head()
            if self.conn is None:
                return
        self._on_body(data)

    def _on_head(self) -> None:
        head = self.head
        if head.chunked and head.length is None:  # 204/304 have no body, whatever the head says
            self.decoder = http1.ChunkedDecoder()
        self.remaining = head.length
        self.is_streaming = self.x.is_stream and head.status == 200 and \
            Answer(head, b"", None).is_event_stream

    def _on_body(self, data: bytes) -> None:
        try:
            if self.decoder is not None:
                body = self.decoder.feed(data)
                is_done = self.decoder.done
                self.is_clean = not self.decoder.leftover
            elif self.remaining is None:
                body, is_done = data, False  # until the upstream closes
            else:
                body = data[:self.remaining]
                self.is_clean = len(body) == len(data)
                self.remaining -= len(body)
                is_done = self.remaining == 0
        except http.client.HTTPException as e:
            self._failed(e)
            return
        if self.is_streaming:
            self._relay(body, is_done)
        else:
            if body:
                self.parts.append(body)
            if is_done:
                self._complete()

    def _on_eof(self) -> None:
        if self.head is None:
            self._failed(http.client.RemoteDisconnected("closed") if not self.buf
                         else http.client.BadStatusLine("incomplete head"))
        elif self.remaining is None and self.decoder is None:  # the body ran until close: complete
            self.head.will_close = True
            if self.is_streaming:
                self._relay(b"", True)
            else:
                self._complete()
        else:
            self._failed(http.client.IncompleteRead(b""))

    def on_deadline(self) -> None:
        self._failed(socket.timeout("upstream idle timeout"))

    def _crashed(self) -> None:
        self._close_upstream(is_reusable=False)
        if self.is_relaying:
            self.client.close()
            return
        self.x.error = "internal error"
        error = ir.Error(500, "internal error in Tresor; see the daemon log", "api_error")
        self.client.respond(self.engine.finalize(self.x, self.engine.error_response(self.x, error)))

    # -- outcomes -------------------------------------------------------------------------------

    def _complete(self) -> None:
        self._close_upstream(is_reusable=not self.head.will_close and self.is_clean)
        self.x.upstream_s += time.perf_counter() - self.sent_at
        answer = Answer(self.head, b"".join(self.parts), lambda: None)
        self.client.respond(self.engine.complete(self.x, answer))

    def _failed(self, e: BaseException) -> None:
        if self.conn is None:
            return
        if self.head is None and not self.buf and isinstance(e, _STALE):  # not a byte of an answer
            self._close_upstream(is_reusable=False)  # the keep-alive race: retried on a new connection
            self.client.retry_in_worker(self.raw_request)
            return
        self._close_upstream(is_reusable=False)
        if self.head is None:
            error = upstream_module.exchange_error(self.call, e)
        else:
            error = upstream_module.body_error(self.call, e)
        if not self.is_relaying:
            self.x.upstream_s += time.perf_counter() - self.sent_at
            self.client.respond(self.engine.fail(self.x, error))
            return
        self.x.error = error.message
        client_format = self.x.client_format
        if client_format is not None:
            self.client.send_chunks([formats.get(client_format).render_stream_error(
                ir.Error(error.status, error.message, "api_error")).encode()])
        self._end_stream()

    def abort(self) -> None:
        """The client went away: close the upstream connection (the provider stops generating)."""
        if self.conn is None:
            return
        self._close_upstream(is_reusable=False)
        if self.is_relaying:
            self._record(200, self.x.bytes_out)
        else:
            self.x.error = "client closed the connection before the response"
            self._record(499, 0)

    def resume(self) -> None:
        """The client drained its send buffer: read the upstream again."""
        if self.is_paused and self.conn is not None:
            self.is_paused = False
            self.deadline = time.monotonic() + self.call.idle_timeout
            self._set_events(READ | (WRITE if self.out else 0))

    # -- streams --------------------------------------------------------------------------------

    def _relay(self, data: bytes, is_done: bool) -> None:
        self.buf += data
        events = _split_events(self.buf)
        tail = b""
        if is_done and self.buf:
            tail = bytes(self.buf)  # bytes after the last blank line, relayed as they are
            self.buf = bytearray()
        for event in events:
            relay.count_event(self.x, event)
        if not self.is_relaying:
            if tail:  # an unterminated last event can still be the first one with data
                events.append(tail)
                tail = b""
            if not self._open_stream(events, is_done) or self.conn is None:
                return
        else:
            self.client.send_chunks(events)
        if self.conn is None:
            return  # the write failed: the client is gone and abort() has logged the stream
        if is_done:
            self.client.send_chunks([tail])
            self._close_upstream(is_reusable=not self.head.will_close and self.is_clean)
            self._end_stream()
        elif self.client.is_congested:
            self.is_paused = True
            self.deadline = None  # the client is slow, not the upstream
            self._set_events(0)

    def _open_stream(self, events: List[bytes], is_done: bool) -> bool:
        """Hold events until one has data (relay.read_event's rule), then answer: an error (False),
        or the stream's head with the held events as its first chunk and the rest after (True)."""
        for index, event in enumerate(events):
            self.held.append(event)
            if any(line.startswith(b"data:") for line in event.split(b"\n")):
                events = events[index + 1:]
                break
        else:
            if not is_done:
                return False
            events = []
        first = b"".join(self.held)
        self.held = []
        _, data, name = relay.read_event(io.BytesIO(first).readline)
        self.x.upstream_s += time.perf_counter() - self.sent_at
        answer = Answer(self.head, b"", lambda: self._close_upstream(is_reusable=False))
        failed = relay.opening_error(self.engine, self.x, answer, data, name)
        if failed is not None:
            self.client.respond(self.engine.finalize(self.x, failed))
            return False
        response = relay.with_overhead(self.x, Response(200, relay.stream_headers(self.x, answer), b""))
        response.headers.extend(engine_module.CORS_HEADERS)
        self.is_relaying = True
        self.x.first_byte_s = time.perf_counter()
        self.client.start_stream(response, [first] + events)
        return True

    def _end_stream(self) -> None:
        self._record(200, self.x.bytes_out)
        self.client.end_stream()

    def _record(self, status: int, size: int) -> None:
        if not self.is_recorded:  # one log entry (and one usage count) per request
            self.is_recorded = True
            self.engine.record(self.x, status, size)

    # -- plumbing -------------------------------------------------------------------------------

    def _set_events(self, events: int) -> None:
        if self.conn is not None:
            self._events = self.loop.set_interest(self.sock, self._events, events, self.on_event)

    def _close_upstream(self, is_reusable: bool) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        if self._events:
            self.loop.unregister(self.sock)
        self._events = 0
        self.loop.unwatch(self)
        if is_reusable:
            self.client.server.app.pool.release(self.call, conn)
        else:
            conn.close()


def _split_events(buf: bytearray) -> List[bytes]:
    """Remove and return the complete SSE events at the start of `buf`, each with its blank line.

    Same cut as relay._passthrough's readline loop: an event ends at a line that is only LF or
    CRLF, and such a line at an event boundary is a chunk of its own."""
    events, start = [], 0
    while True:
        if buf.startswith(b"\n", start):
            end = start + 1
        elif buf.startswith(b"\r\n", start):
            end = start + 2
        else:
            lf, crlf = buf.find(b"\n\n", start), buf.find(b"\n\r\n", start)
            ends = [i + n for i, n in ((lf, 2), (crlf, 3)) if i >= 0]
            if not ends:
                break
            end = min(ends)
        events.append(bytes(buf[start:end]))
        start = end
    del buf[:start]
    return events
