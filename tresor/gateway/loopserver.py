"""The TCP listener (gateway, admin API, web UI) as one event loop, with worker threads for the rest.

The loop accepts connections, waits on idle keep-alive connections, reads request heads and bodies
without blocking, and runs the common gateway request entirely itself: an ordinary `POST` to an
LLM path, answered by the engine directly or forwarded on an idle pooled upstream connection
(upstream_leg.py), non-streamed or as a same-format stream. Everything else (admin API, web UI,
unusual or malformed requests, chunked or large bodies, translated streams, a request with no
idle upstream connection) is handed to a worker thread that serves that one request with the
threaded Handler, exactly as the unix socket does, and hands the connection back afterwards.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Optional, Tuple

from tresor.gateway import http1
from tresor.gateway.connection import ClientConnection
from tresor.gateway.eventloop import READ, EventLoop, Workers

log = logging.getLogger("tresor.server")

class LoopServer:
    """Listens on `address` (host, port); serve_forever() runs the loop in the calling thread.

    Same surface as socketserver's servers where the daemon uses it: `server_address`,
    serve_forever(), shutdown() (stop accepting), server_close(); plus close_connections() to end
    the loop once in-flight requests are done. `app`, `tracker`, `dates` and `is_trusted_socket`
    are read by the Handler in hand-offs.
    """

    request_queue_size = 1024
    is_trusted_socket = False

    def __init__(self, address: Tuple[str, int], app, tracker):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(self.request_queue_size)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.socket = sock
        self.server_address = sock.getsockname()
        self.app, self.tracker = app, tracker
        self.dates = http1.DateCache()
        self.loop = EventLoop()
        self.workers = Workers()
        self.connections: set = set()
        self.is_closed = False
        self.deadline: Optional[float] = None  # accepting paused after an accept error (EMFILE)
        self._listening = False
        self._started = threading.Event()
        self._ended = threading.Event()
        self._not_accepting = threading.Event()

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        if self.is_closed:
            return
        self.loop.register(self.socket, READ, self._accept)
        self._listening = True
        self._started.set()
        try:
            self.loop.run()
        finally:
            self._ended.set()

    def shutdown(self) -> None:
        """Stop accepting new connections (open ones keep being served until close_connections())."""
        if self._started.is_set() and not self._ended.is_set():
            self.loop.call_soon_threadsafe(self._stop_accepting)
            self._not_accepting.wait(5.0)
        else:
            self._stop_accepting()

    def server_close(self) -> None:
        if not self._started.is_set() or self._ended.is_set():
            self._stop_accepting()

    def close_connections(self, timeout: float = 5.0) -> None:
        """Close every connection and end the loop thread (after the graceful wait of server.stop)."""
        self.is_closed = True
        if self._started.is_set() and not self._ended.is_set():
            self.loop.call_soon_threadsafe(self._close_all)
            self._ended.wait(timeout)

    def _stop_accepting(self) -> None:
        if self._listening:
            self.loop.unregister(self.socket)
            self.loop.unwatch(self)
            self._listening = False
        self.socket.close()
        self._not_accepting.set()

    def _close_all(self) -> None:
        for conn in list(self.connections):
            conn.close()
        self.loop.stop()

    def _accept(self, mask: int) -> None:
        for _ in range(64):
            try:
                sock, peer = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # out of file descriptors, most likely: retry in a moment, do not spin
                log.warning("accept failed (%s); pausing new connections for 0.5 s", e)
                self.loop.unregister(self.socket)
                self.deadline = time.monotonic() + 0.5
                self.loop.watch(self)
                return
            # SSE events are small writes; Nagle would hold each one back waiting for an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            ClientConnection(self, sock, peer)

    def on_deadline(self) -> None:
        self.loop.unwatch(self)
        self.deadline = None
        if self._listening:
            self.loop.register(self.socket, READ, self._accept)
