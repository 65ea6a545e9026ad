"""One client connection on the event loop: reads requests, runs or hands them over, writes answers.

The loop reads heads and bodies without blocking and runs an ordinary `POST` to an LLM path itself
(the engine answers it, or an UpstreamLeg forwards it on an idle pooled upstream connection).
Anything else is served in a worker: by the threaded Handler (which parses the request again from
the bytes read so far) or, for a started request that needs blocking I/O, by Engine.forward();
the connection comes back to the loop afterwards, with any pipelined bytes.
"""
from __future__ import annotations

import http.client
import io
import logging
import time
from typing import Optional

from tresor.errors import UpstreamError
from tresor.gateway import http1, paths, upstream_leg
from tresor.gateway.eventloop import READ, WRITE
from tresor.gateway.handler import (Handler, HandedOverHandler, client_ip, log_access, response_head,
                                    send_response)
from tresor.httpio import Request, Response, json_response

log = logging.getLogger("tresor.server")

FAST_BODY_MAX = 512 * 1024   # larger bodies are parsed in a worker, not on the loop everyone shares
_HEAD_MAX = 256 * 1024       # no end of head by then: the Handler applies the exact limits (414/431)
_READ_SIZE = 65536
_HIGH_WATER = 1 << 20        # bytes queued for a slow client before its upstream is paused
_LOW_WATER = 256 * 1024
_FAST_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
WAITING, BODY, BUSY, HANDED, CLOSING, CLOSED = range(6)


def _frames(chunks) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks if chunk)


class ClientConnection:
    """One client connection on the loop: reads requests, runs or hands them over, writes answers.

    `deadline` covers, by state: the idle keep-alive wait, the head (Handler.header_timeout from
    its first byte), body silence and a client that stops reading (Handler.timeout).
    """

    def __init__(self, server, sock, peer):
        self.server, self.sock, self.peer, self.loop = server, sock, peer, server.loop
        self.buf = bytearray()
        self.out = bytearray()
        self.state = WAITING
        self.leg = None              # the upstream exchange of the request in flight on the loop
        self.is_busy = False         # counted as in flight by the tracker
        self.close_after = False
        self.is_reading = True
        self.parsed = None           # the head of a request whose body is still arriving
        self.scanned = 0             # bytes of `buf` already searched for the end of a head
        self.is_eof = False          # the client sent FIN: no more requests will come
        self.request_line = ""
        self.deadline: Optional[float] = time.monotonic() + Handler.timeout
        self._events = READ
        server.connections.add(self)
        server.tracker.opened(sock)
        self.loop.register(sock, READ, self.on_event)
        self.loop.watch(self)

    # -- events ---------------------------------------------------------------------------------

    def on_event(self, mask: int) -> None:
        try:
            if mask & WRITE:
                self._flush()
            if mask & READ and self.state < HANDED:
                self._receive()
        except Exception:  # a bug: this connection ends, the loop and every other connection go on
            log.exception("unhandled error on a client connection")
            self.close()

    def on_deadline(self) -> None:
        if self.state == WAITING and self.buf:
            log.debug("%s: request head not complete after %g s; closing", self._peer_ip(), Handler.header_timeout)
        self.close()

    def _receive(self) -> None:
        try:
            data = self.sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self._on_eof()
            return
        if self.state == BUSY:  # a pipelined next request, or bytes sent while a stream runs
            self.buf += data
            if len(self.buf) > _HEAD_MAX:
                self._set_reading(False)
            return
        if self.state == WAITING and not self.buf:
            self.deadline = time.monotonic() + Handler.header_timeout
        elif self.state == BODY:
            self.deadline = time.monotonic() + Handler.timeout
        self.buf += data
        self._parse()

    def _on_eof(self) -> None:
        """The client sent FIN. During a stream it has gone (nginx's default judgement too, and
        the only way to stop a provider generating for nobody); otherwise the requests it sent
        are still answered, in order, and the connection closes when they are done."""
        if self.state == BUSY and self.leg is not None and self.leg.is_streaming:
            self.close()
            return
        self.is_eof = True
        self._set_reading(False)
        if self.state != BUSY:
            self._parse()  # answers what is complete, closes when nothing more can come

    # -- requests -------------------------------------------------------------------------------

    def _parse(self) -> None:
        if self.state not in (WAITING, BODY) or self.out:
            return  # busy, or the previous answer is still being sent: answers leave in order
        if not self.buf or (self.is_eof and self._is_incomplete()):
            if self.is_eof:
                self.close()
            return
        parsed = self.parsed or self._parse_head()
        if parsed is None:
            return
        if parsed is False:
            self._hand_over()
            return
        method, path, query, headers, end, length, close = parsed
        if len(self.buf) < end + length:
            self.parsed, self.state = parsed, BODY
            return
        raw = bytes(self.buf[:end + length])
        del self.buf[:end + length]
        self.parsed, self.scanned = None, 0
        request = Request(method, path, query, headers, raw[end:], client_ip(self._peer_ip(), headers), False)
        self._run(request, raw, close)

    def _is_incomplete(self) -> bool:
        if self.parsed:
            return len(self.buf) < self.parsed[4] + self.parsed[5]
        return http1.head_end(self.buf) < 0 and len(self.buf) <= _HEAD_MAX

    def _parse_head(self):
        """The head of a request the loop runs itself, None while incomplete, False to hand over."""
        buf = self.buf
        end = http1.head_end(buf, max(0, self.scanned - 3))  # a head trickling in is scanned once
        if end < 0:
            self.scanned = len(buf)
            return False if len(buf) > _HEAD_MAX else None
        self.scanned = 0
        line_end = buf.find(b"\n")
        if line_end > http1.MAX_LINE:  # the Handler answers 414
            return False
        words = bytes(buf[:line_end]).split()
        if len(words) != 3 or words[0] != b"POST" or words[2] not in _FAST_VERSIONS:
            return False
        target = words[1].decode("iso-8859-1")
        path, _, query = target.partition("?")
        if not path.startswith("/") or path.startswith("//") or paths.classify("POST", path) is None:
            return False
        try:
            header_list = http1.read_headers(io.BytesIO(bytes(buf[line_end + 1:end])).readline, is_strict=True)
        except http.client.HTTPException:
            return False
        headers = {k.lower(): v for k, v in header_list}
        if "transfer-encoding" in headers or "expect" in headers:
            return False
        value = headers.get("content-length", "0")
        if not (value.isdigit() and value.isascii()) or len(
                {v.strip() for k, v in header_list if k.lower() == "content-length"}) > 1:
            return False
        length = int(value)
        if length > min(FAST_BODY_MAX, self.server.app.config.max_body_bytes):
            return False
        connection = headers.get("connection", "").lower()
        close = connection == "close" or (words[2] == b"HTTP/1.0" and connection != "keep-alive")
        return "POST", path, query, headers, end, length, close

    def _run(self, request: Request, raw: bytes, close: bool) -> None:
        self.state, self.is_busy, self.deadline = BUSY, True, None
        self.server.tracker.begin(self.sock)
        self.close_after = close or self.server.tracker.is_draining
        self.request_line = raw[:raw.find(b"\n")].decode("iso-8859-1").rstrip("\r")
        try:
            self._start(request, raw)
        except Exception:  # the engine is its own error boundary; this is a bug in the server
            log.exception("unhandled error on %s %s", request.method, request.path)
            self.respond(json_response(500, {"error": {"message": "internal error in Tresor; see the daemon log",
                                                       "type": "internal_error"}}))

    def _start(self, request: Request, raw: bytes) -> None:
        started = self.server.app.engine.start(request)
        if isinstance(started, Response):
            self.respond(started)
            return
        x, outgoing = started
        app = self.server.app
        try:
            taken = app.pool.take_idle(outgoing.url, app.config.stream_idle_timeout, x.route.downstream.id)
        except UpstreamError:
            taken = None  # the worker's attempt answers with the error
        if taken is None:
            self._forward_in_worker(x, outgoing, None)
        elif upstream_leg.runs_in_loop(x):
            self.leg = upstream_leg.UpstreamLeg(self, x, outgoing, taken, raw)
            self.leg.start()
        else:  # a worker relays it; sending first lets the worker wake while the upstream works
            self._forward_in_worker(x, outgoing, upstream_leg.begin_send(taken, outgoing, app.pool))

    def retry_in_worker(self, raw: bytes) -> None:
        """Serve the request whose bytes are `raw` again, from the start, in a worker thread (it stays
        counted in flight until the connection comes back, so a graceful stop waits for it)."""
        self.leg = None
        self.buf[0:0] = raw
        self.state = WAITING
        self._hand_over()

    # -- answers --------------------------------------------------------------------------------

    def respond(self, response: Response) -> None:
        """Write a complete (non-streamed) response; the request is done."""
        self.leg = None
        if self.state != BUSY:
            return  # the client went away meanwhile
        self._decide_close()
        head = response_head(response, self.server.dates.now(), self.close_after)
        head.append("Content-Length: %d\r\n\r\n" % len(response.body))
        self.write("".join(head).encode("latin-1") + response.body)
        log_access(self._peer_ip(), self.request_line, response.status)
        self._request_done()

    def start_stream(self, response: Response, chunks) -> None:
        """Send the head of a chunked stream with its first chunks (one send, see handler)."""
        self._decide_close()
        head = response_head(response, self.server.dates.now(), self.close_after)
        head.append("Transfer-Encoding: chunked\r\n\r\n")
        self.write("".join(head).encode("latin-1") + _frames(chunks))
        log_access(self._peer_ip(), self.request_line, response.status)

    def _decide_close(self) -> None:
        # The head says `Connection: close` when this is the last answer: a graceful stop, or a
        # client that half-closed with no further request buffered.
        if self.server.tracker.is_draining or (self.is_eof and not self.buf):
            self.close_after = True

    def send_chunks(self, chunks) -> None:
        """Send stream chunks, framed, in one write (the events of one upstream read)."""
        data = _frames(chunks)
        if data:
            self.write(data)

    def end_stream(self) -> None:
        self.leg = None
        if self.state == BUSY:
            self.write(b"0\r\n\r\n")
            self._request_done()

    @property
    def is_congested(self) -> bool:
        """More than the high-water mark is waiting to be sent: the producer should pause."""
        return len(self.out) > _HIGH_WATER

    def write(self, data: bytes) -> None:
        if self.state == CLOSED:
            return
        if not self.out:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.close()
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        self.out += data
        if self.state == BUSY:
            self.deadline = time.monotonic() + Handler.timeout  # a client that stops reading
        self._update_events()

    def _flush(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del self.out[:sent]
        if self.state == BUSY:
            self.deadline = time.monotonic() + Handler.timeout if self.out else None
        if not self.out and self.state == CLOSING:
            self.close()
            return
        self._update_events()
        if not self.out and self.state == WAITING:
            self._parse()  # a pipelined request waited for this answer to leave
        if self.leg is not None and len(self.out) < _LOW_WATER:
            self.leg.resume()

    def _request_done(self) -> None:
        self._end_request()
        if self.state == CLOSED:
            return  # the write failed: the client is gone
        if self.close_after:
            self.state = CLOSING
            self._set_reading(False)
            self.deadline = time.monotonic() + Handler.timeout
            if not self.out:
                self.close()
            return
        self.state = WAITING
        self.deadline = time.monotonic() + (Handler.header_timeout if self.buf else Handler.timeout)
        self._set_reading(not self.is_eof)
        if self.buf or self.is_eof:
            self.loop.call_soon(self._parse)

    def _end_request(self) -> None:
        if self.is_busy:
            self.is_busy = False
            self.server.tracker.end(self.sock)

    # -- hand-off to a worker -------------------------------------------------------------------

    def _hand_over(self) -> None:
        """Let a worker's Handler serve the request at the start of `buf`, parsing it itself."""
        prefix, self.buf = bytes(self.buf), bytearray()
        self.parsed, self.scanned = None, 0
        if self._detach():
            self.server.workers.submit(self._serve_in_worker, prefix)

    def _detach(self) -> bool:
        """Take the socket off the loop and make it blocking (with Handler.timeout) for a worker."""
        self.state = HANDED
        self.loop.unregister(self.sock)
        self.loop.unwatch(self)
        self._events = 0
        try:
            self.sock.settimeout(Handler.timeout)
        except OSError:
            self.close()
            return False
        return True

    def _forward_in_worker(self, x, outgoing, begun) -> None:
        """Let a worker send the started request (blocking I/O, threaded stream pipeline) and write
        the answer; the connection comes back to the loop afterwards."""
        if self._detach():
            self.server.workers.submit(self._forward, x, outgoing, begun)
        elif begun is not None:
            begun[0].close()  # the client went away before the worker could finish the send

    def _forward(self, x, outgoing, begun) -> None:
        is_open = False
        try:
            response = self.server.app.engine.forward(x, outgoing, begun)
            close = self.close_after or self.server.tracker.is_draining
            is_open = send_response(self.sock, self.sock.sendall, response, self.server.dates.now(), close) \
                and not close
            log_access(self._peer_ip(), self.request_line, response.status)
        except OSError:
            pass  # the client went away
        except Exception:
            log.exception("unhandled error forwarding a request in a worker")
        self._back_from_worker(b"", not is_open)

    def _serve_in_worker(self, prefix: bytes) -> None:
        leftover, close = b"", True
        try:
            handler = HandedOverHandler(self.sock, self.peer, self.server, prefix)
            leftover, close = handler.leftover, handler.close_connection
        except Exception:
            log.exception("unhandled error serving a request in a worker")
        self._back_from_worker(leftover, close)

    def _back_from_worker(self, leftover: bytes, close: bool) -> None:
        if self.server.is_closed:  # the loop may have ended already: do not leave the socket open
            try:
                self.sock.close()
            except OSError:
                pass
            self.loop.call_soon_threadsafe(self.close)
            return
        self.loop.call_soon_threadsafe(self._resume, leftover, close)

    def _resume(self, leftover: bytes, close: bool) -> None:
        if self.state != HANDED:
            return
        self._end_request()
        if close or self.server.is_closed:
            self.close()
            return
        try:
            self.sock.settimeout(0.0)
        except OSError:
            self.close()
            return
        self.state = WAITING
        self.buf[0:0] = leftover
        self.scanned = 0
        self.deadline = time.monotonic() + (Handler.header_timeout if self.buf else Handler.timeout)
        self.is_reading = not self.is_eof
        self._events = self.loop.set_interest(self.sock, 0, READ if self.is_reading else 0, self.on_event)
        self.loop.watch(self)
        self._parse()

    # -- plumbing -------------------------------------------------------------------------------

    def _set_reading(self, is_reading: bool) -> None:
        if self.is_reading != is_reading:
            self.is_reading = is_reading
            self._update_events()

    def _update_events(self) -> None:
        if self.state in (HANDED, CLOSED):
            return
        events = (READ if self.is_reading else 0) | (WRITE if self.out else 0)
        self._events = self.loop.set_interest(self.sock, self._events, events, self.on_event)

    def _peer_ip(self) -> str:
        peer = self.peer
        return peer[0] if isinstance(peer, tuple) and peer else ""

    def close(self) -> None:
        """Close the connection (idempotent); an upstream exchange still running is abandoned."""
        if self.state == CLOSED:
            return
        self.state = CLOSED
        self.loop.unregister(self.sock)
        self.loop.unwatch(self)
        self.server.connections.discard(self)
        leg, self.leg = self.leg, None
        if leg is not None:
            leg.abort()
        self._end_request()
        self.server.tracker.closed(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass
