"""The daemon's listeners: the event-loop TCP server (loopserver.py) for gateway, admin API and web
UI, and a threaded unix-socket server (admin API and web UI, mode 0600); a graceful stop for both.
"""
from __future__ import annotations

import logging
import os
import socket
import socketserver
import stat
import threading
import time
from typing import Optional, Tuple

from tresor.gateway import http1
from tresor.gateway.handler import Handler
from tresor.gateway.loopserver import LoopServer as TCPServer

__all__ = ["ConnectionTracker", "Handler", "TCPServer", "UnixServer", "parse_bind_addr", "start", "stop"]

log = logging.getLogger("tresor.server")


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
    for server in servers:
        close = getattr(server, "close_connections", None)  # the event loop's: ends its thread
        if close is not None:
            close()
    if socket_path:
        try:
            os.unlink(socket_path)
        except OSError:
            pass
    return is_idle
