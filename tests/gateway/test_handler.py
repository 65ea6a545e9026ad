"""handler: the response head, the blocking writer (with keep-alive pings), and one handed-over request."""
import socket
import threading
import time

from tresor.app import App
from tresor.config.model import Config
from tresor.gateway import handler, http1, keepalive
from tresor.gateway.server import ConnectionTracker
from tresor.httpio import Response


def test_head_drops_hop_by_hop_adds_security_headers_and_connection_close():
    response = Response(201, [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked"),
                              ("X-Frame-Options", "SAMEORIGIN"), ("Keep-Alive", "5")], b"")
    head = "".join(handler.response_head(response, "Thu, 03 Dec 2026 12:00:00 GMT", True))
    assert head.startswith("HTTP/1.1 201 Created\r\nServer: Tresor/")
    assert "Date: Thu, 03 Dec 2026 12:00:00 GMT\r\n" in head and "Content-Type: text/plain\r\n" in head
    assert "Transfer-Encoding" not in head and "Keep-Alive" not in head
    assert head.count("X-Frame-Options") == 1 and "X-Frame-Options: SAMEORIGIN" in head
    assert "X-Content-Type-Options: nosniff\r\n" in head and head.endswith("Connection: close\r\n")
    assert "Connection" not in "".join(handler.response_head(response, "d", False))


def _read_all(sock, timeout=3.0):
    sock.settimeout(timeout)
    data = b""
    while True:
        part = sock.recv(65536)
        if not part:
            return data
        data += part


def test_send_response_writes_a_stream_with_pings_in_the_silence_and_closes_the_body():
    ours, theirs = socket.socketpair()
    closed = threading.Event()

    def body():
        try:
            yield b"one"
            time.sleep(0.35)
            yield b"two"
        finally:
            closed.set()

    try:
        response = Response(200, [("Content-Type", "text/event-stream")],
                            keepalive.StreamBody(body(), lambda: None, b"PING", 0.1))
        assert handler.send_response(ours, ours.sendall, response, "d", False) is True
        ours.shutdown(socket.SHUT_WR)
        data = _read_all(theirs)
    finally:
        ours.close()
        theirs.close()
    head, _, chunks = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and closed.is_set()
    assert chunks.startswith(b"3\r\none\r\n") and chunks.endswith(b"3\r\ntwo\r\n0\r\n\r\n")
    pings = chunks[len(b"3\r\none\r\n"):-len(b"3\r\ntwo\r\n0\r\n\r\n")]
    assert pings.count(b"4\r\nPING\r\n") >= 2 and pings.replace(b"4\r\nPING\r\n", b"") == b""


def test_send_response_reports_a_client_gone_mid_stream_and_still_closes_the_body():
    ours, theirs = socket.socketpair()
    closed = threading.Event()

    def body():
        try:
            yield b"x" * 1000
            theirs.close()
            for _ in range(1000):
                yield b"y" * 65536
        finally:
            closed.set()

    try:
        assert handler.send_response(ours, ours.sendall, Response(200, [], body()), "d", False) is False
    finally:
        ours.close()
    assert closed.is_set()


class _Server:
    def __init__(self):
        self.app = App(Config(), None, ".")
        self.tracker = ConnectionTracker()
        self.dates = http1.DateCache()
        self.is_trusted_socket = False


def test_a_handed_over_connection_serves_one_request_and_returns_what_it_read_past_it():
    ours, theirs = socket.socketpair()
    first = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
    second_part = b"GET /api/health HTTP/1.1\r\nHo"
    try:
        ours.settimeout(5)
        done = handler.HandedOverHandler(ours, ("127.0.0.1", 5), _Server(), first + second_part)
        theirs.settimeout(3)
        answer = theirs.recv(65536)
    finally:
        ours.close()
        theirs.close()
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b'{"status":"ok"}')
    assert done.leftover == second_part and done.close_connection is False


def test_a_handed_over_request_reads_the_rest_of_its_body_from_the_socket():
    ours, theirs = socket.socketpair()
    body = b'{"model":"abc-model","max_tokens":5,"messages":[]}'
    request = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    try:
        ours.settimeout(5)
        theirs.sendall(body[5:])  # the loop had read only part of the body
        done = handler.HandedOverHandler(ours, ("127.0.0.1", 5), _Server(), request + body[:5])
        theirs.settimeout(3)
        answer = theirs.recv(65536)
    finally:
        ours.close()
        theirs.close()
    # The whole body was read (prefix + socket): the model in it is named, not a JSON error.
    assert answer.startswith(b"HTTP/1.1 404 ") and b"Connection: close" in answer and b"abc-model" in answer
    assert done.leftover == b"" and done.close_connection is True


def test_send_response_aborts_the_upstream_when_the_client_hangs_up_during_silence():
    ours, theirs = socket.socketpair()
    woken = threading.Event()

    def body():
        yield b"one"
        woken.wait(5)  # the upstream is silent until abort() wakes it
        raise ConnectionResetError("upstream shut down")

    try:
        response = Response(200, [], keepalive.StreamBody(body(), woken.set))
        threading.Timer(0.2, theirs.close).start()
        started = time.monotonic()
        try:
            handler.send_response(ours, ours.sendall, response, "d", False)
        except ConnectionResetError:
            pass
        assert woken.is_set() and time.monotonic() - started < 2.5
    finally:
        ours.close()
