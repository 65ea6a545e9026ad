"""loopserver.LoopServer: accepting, pausing on accept errors, a graceful stop with requests in flight."""
import errno
import socket
import threading
import time

from tests.gateway.loop_support import CHAT, REPLY, Client, gateway, json_head, post, raw, warm
from tresor.gateway import server as srv

__all__ = ["gateway", "raw"]  # fixtures


def test_stop_waits_for_a_request_in_flight_on_the_loop(gateway, raw):
    warm(gateway, raw)
    raw.actions.append(lambda c: (time.sleep(0.4), c.sendall(json_head(REPLY))))
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT))
    time.sleep(0.1)
    result = {}
    stopper = threading.Thread(target=lambda: result.setdefault(
        "idle", srv.stop([gateway.server], gateway.tracker, 3.0, None)))
    stopper.start()
    head, body = sock.read_response()
    stopper.join(5)
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" in head and b"hello" in body
    assert result["idle"] is True and gateway.submitted == []


def test_after_shutdown_no_new_connection_is_accepted_but_open_ones_are_served(gateway, raw):
    warm(gateway, raw)
    open_one = Client(gateway)
    open_one.sendall(b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert open_one.read_response()[0].startswith(b"HTTP/1.1 200")  # accepted before the shutdown
    gateway.server.shutdown()
    gateway.server.server_close()
    try:
        refused = socket.create_connection(("127.0.0.1", gateway.server.server_address[1]), timeout=2)
        refused.close()
        is_refused = False
    except OSError:
        is_refused = True
    open_one.sendall(post("/v1/chat/completions", CHAT))
    head, body = open_one.read_response()
    open_one.close()
    assert is_refused and head.startswith(b"HTTP/1.1 200") and b"hello" in body
    gateway.server.close_connections()
    assert not gateway.server.loop.thread.is_alive() or gateway.server.loop.thread.join(3) is None
    assert not gateway.server.loop.thread.is_alive()


def test_an_accept_error_pauses_accepting_instead_of_spinning(gateway, raw):
    listener = gateway.server.socket
    failures = []

    class Failing:
        """The listening socket, except that the next accept() fails like EMFILE once."""

        def __getattr__(self, name):
            return getattr(listener, name)

        def accept(self):
            if not failures:
                failures.append(time.monotonic())
                raise OSError(errno.EMFILE, "Too many open files")
            return listener.accept()

        def fileno(self):
            return listener.fileno()

    gateway.server.socket = Failing()
    client = Client(gateway)  # queued in the backlog while accepting is paused
    client.sendall(b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n")
    head, _ = client.read_response()
    client.close()
    gateway.server.socket = listener
    assert head.startswith(b"HTTP/1.1 200") and len(failures) == 1
