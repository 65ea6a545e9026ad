"""The HTTP server on a real socket (port 0): keep-alive, chunked bodies, streams, limits, shutdown."""
import http.client
import json
import os
import socket
import stat
import threading
import time

import pytest

from tresor.app import App
from tresor.config.model import Config
from tresor.gateway import handler, server as srv
from tresor.httpio import Response


class StreamingApp(App):
    """The real App, plus /stream (3 chunks with a gate) and /echo (returns the body length)."""

    def __init__(self, config):
        super().__init__(config, None, ".")
        self.gate = threading.Event()
        self.closed = threading.Event()

    def gateway(self, request):
        if request.path == "/echo":
            return Response(200, [("Content-Type", "text/plain")], b"%d" % len(request.body))
        if request.path == "/slow":
            self.gate.wait(5)
            return Response(200, [], b"done")
        if request.path == "/stream":
            return Response(200, [("Content-Type", "text/event-stream")], self._events())
        return super().gateway(request)

    def _events(self):
        try:
            yield b"data: 1\n\n"
            self.gate.wait(5)
            yield b"data: 2\n\n"
        finally:
            self.closed.set()


@pytest.fixture
def served():
    app = StreamingApp(Config(max_body_bytes=1000))
    tracker = srv.ConnectionTracker()
    server = srv.TCPServer(("127.0.0.1", 0), app, tracker)
    srv.start(server)
    yield app, server, tracker
    app.gate.set()
    srv.stop([server], tracker, 2.0, None)


def _conn(server):
    return http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)


def test_health_and_keep_alive_reuse_one_connection(served):
    _, server, _ = served
    conn = _conn(server)
    for _ in range(3):
        conn.request("GET", "/api/health")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}
    assert conn.sock is not None  # still open: HTTP/1.1 keep-alive
    conn.close()


def test_every_response_carries_security_headers(served):
    conn = _conn(served[1])
    conn.request("GET", "/nope")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 404
    assert "default-src 'none'" in resp.getheader("Content-Security-Policy")
    assert resp.getheader("X-Content-Type-Options") == "nosniff"


def test_unknown_gateway_path_is_404_in_openai_error_shape(served):
    conn = _conn(served[1])
    conn.request("POST", "/v2/whatever", body=b"{}")
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 404 and "/v2/whatever" in body["error"]["message"]


def test_chunked_request_body_is_decoded(served):
    conn = _conn(served[1])
    conn.request("POST", "/echo", body=iter([b"abc", b"defg"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    assert resp.read() == b"7"


def test_body_over_the_cap_is_413(served):
    conn = _conn(served[1])
    conn.request("POST", "/echo", body=b"x" * 1001)
    resp = conn.getresponse()
    assert resp.status == 413 and "max_body_bytes" in json.loads(resp.read())["error"]["message"]


def test_stream_chunks_arrive_before_the_stream_ends(served):
    app, server, _ = served
    conn = _conn(server)
    conn.request("GET", "/stream")
    resp = conn.getresponse()
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.read1(100) == b"data: 1\n\n"  # delivered while the generator is still blocked
    app.gate.set()
    assert resp.read() == b"data: 2\n\n"


def test_client_disconnect_mid_stream_closes_the_body_iterator(served):
    app, server, _ = served
    sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5)
    sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while b"data: 1" not in received:
        received += sock.recv(4096)
    sock.close()
    app.gate.set()
    assert app.closed.wait(5)


def test_malformed_request_line_gets_json_400(served):
    sock = socket.create_connection(("127.0.0.1", served[1].server_address[1]), timeout=5)
    sock.sendall(b"BROKEN\r\n\r\n")
    data = sock.recv(4096)
    sock.close()
    assert data.startswith(b"HTTP/1.1 400") or data.startswith(b"HTTP/1.0 400")
    assert b'"error"' in data


def test_shutdown_waits_for_in_flight_requests(served):
    app, server, tracker = served
    result = {}

    def call():
        conn = _conn(server)
        conn.request("GET", "/slow")
        result["body"] = conn.getresponse().read()

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while not tracker._busy and time.monotonic() < deadline:
        time.sleep(0.01)
    threading.Timer(0.3, app.gate.set).start()
    assert srv.stop([server], tracker, 5.0, None) is True
    caller.join(5)
    assert result["body"] == b"done"


def test_unix_socket_serves_admin_only_with_mode_0600(tmp_path):
    path = str(tmp_path / "t.sock")
    open(path, "w").close()
    with pytest.raises(OSError, match="not a socket"):
        srv.UnixServer(path, App(Config(), None, "."), srv.ConnectionTracker())
    os.unlink(path)
    tracker = srv.ConnectionTracker()
    server = srv.UnixServer(path, App(Config(), None, "."), tracker)
    srv.start(server)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while not data.endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert b"200 OK" in data and b'{"status":"ok"}' in data
    finally:
        srv.stop([server], tracker, 1.0, path)
    assert not os.path.exists(path)


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:11510", ("127.0.0.1", 11510)), ("[::1]:0", ("::1", 0)), (":8080", ("0.0.0.0", 8080)),
])
def test_parse_bind_addr(value, expected):
    assert srv.parse_bind_addr(value) == expected


@pytest.mark.parametrize("peer, headers, expected", [
    ("127.0.0.1", {"x-real-ip": "10.0.0.5"}, "10.0.0.5"),
    ("::1", {"x-forwarded-for": "10.1.1.1, 127.0.0.1"}, "10.1.1.1"),
    ("192.168.1.9", {"x-real-ip": "10.0.0.5"}, "192.168.1.9"),
])
def test_forwarding_headers_are_trusted_only_from_loopback(peer, headers, expected):
    assert handler.client_ip(peer, headers) == expected


def test_slow_loris_headers_are_cut_off_at_the_header_deadline(served, monkeypatch):
    monkeypatch.setattr(srv.Handler, "header_timeout", 0.5)
    sock = socket.create_connection(("127.0.0.1", served[1].server_address[1]), timeout=5)
    started = time.monotonic()
    try:
        sock.sendall(b"GET /api/health HTTP/1.1\r\n")
        for _ in range(20):  # one header line every 0.1 s: each read is quick, the total is not
            time.sleep(0.1)
            sock.sendall(b"X-Drip: 1\r\n")
    except OSError:
        pass  # the server hung up on us: that is the point
    data = sock.recv(4096)
    sock.close()
    assert data == b"" or b"200 OK" not in data
    assert time.monotonic() - started < 3


def test_body_over_the_cap_is_413_in_the_format_of_the_path(served):
    conn = _conn(served[1])
    conn.request("POST", "/v1/messages", body=b"x" * 1001)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 413 and body["type"] == "error" and body["error"]["type"] == "request_too_large"
