"""upstream.Pool against scripted stub upstreams and proxies on 127.0.0.1; proxy and URL tables."""
from __future__ import annotations

import base64
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from tresor.errors import UpstreamError
from tresor.gateway import proxy, upstream
from tresor.gateway.upstream import Pool, join_url


class Seen(NamedTuple):
    method: str
    path: str
    headers: dict  # lower-case names
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.stub.closed.release()  # one count per server-side socket close


class _Handler(BaseHTTPRequestHandler):
    """Routes by the last path segment to a route_<name> method; the stub records every request."""

    protocol_version = "HTTP/1.1"
    timeout = 10
    disable_nagle_algorithm = True  # else headers and body writes wait 40 ms on delayed ACKs

    def setup(self):
        super().setup()
        self.served = 0
        with self.server.stub.lock:
            self.server.stub.connections += 1

    def log_message(self, *args):
        pass

    def do_GET(self):
        stub = self.server.stub
        self.served += 1
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        stub.requests.append(Seen(self.command, self.path, headers, body))
        name = urlsplit(self.path).path.rsplit("/", 1)[-1].replace("-", "_")
        getattr(self, "route_" + name, self.route_hello)(body)

    do_POST = do_GET

    def _send(self, status, headers, body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def route_hello(self, body):
        self._send(200, [("Content-Type", "text/plain"), ("x-request-id", "req-1"), ("Retry-After", "7"),
                         ("Content-Length", str(len(body or b"hello")))], body or b"hello")

    def route_limited(self, body):
        self._send(429, [("Retry-After", "3"), ("Content-Length", "4")], b"slow")

    def route_chunked(self, body):
        self._send(200, [("Transfer-Encoding", "chunked")])
        for part in (b"alpha ", b"beta ", b"gamma"):
            self._chunk(part)
        self.wfile.write(b"0\r\n\r\n")

    def route_until_close(self, body):
        self._send(200, [("Connection", "close")], b"all of it, then EOF")
        self.close_connection = True

    def route_sse(self, body):
        self._send(200, [("Content-Type", "text/event-stream; charset=utf-8"), ("Transfer-Encoding", "chunked")])
        self._chunk(b"data: one\n\n")
        if self.server.stub.gate.wait(5):
            self._chunk(b"data: two\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def route_endless(self, body):
        self._send(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])
        try:
            for _ in range(500):
                self._chunk(b"data: tick\n\n")
                time.sleep(0.01)
        except OSError:
            self.server.stub.disconnected.set()
        self.close_connection = True

    def route_stall(self, body):
        self.server.stub.gate.wait(5)
        self.close_connection = True

    def route_stall_body(self, body):
        self._send(200, [("Content-Length", "100")], b"0123456789")
        self.server.stub.gate.wait(5)
        self.close_connection = True

    def route_truncated(self, body):
        self._send(200, [("Content-Length", "100")], b"0123456789")
        self.close_connection = True

    def route_garbage(self, body):
        self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
        self.close_connection = True

    def route_drop(self, body):
        self.close_connection = True  # read the request, answer nothing

    def route_close_on_reuse(self, body):
        # The keep-alive race, made deterministic: a reused connection dies as the request lands.
        if self.served > 1:
            self.close_connection = True
            return
        self.route_hello(body)

    def route_close_silently(self, body):
        self.route_hello(body)
        self.close_connection = True  # no "Connection: close": the client pools a socket we close


class Upstream:
    """A scripted HTTP/1.1 upstream on 127.0.0.1:0 (optionally TLS) served from a daemon thread."""

    def __init__(self, tls=None):
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = []
        self.gate = threading.Event()
        self.disconnected = threading.Event()
        self.closed = threading.Semaphore(0)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.stub = self
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_closed(self, timeout=5.0):
        return self.closed.acquire(timeout=timeout)

    def stop(self):
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class ConnectProxy:
    """A CONNECT proxy that sends every tunnel to 127.0.0.1:target_port (so fake hostnames work)."""

    def __init__(self, target_port, deny=False):
        self.target_port = target_port
        self.deny = deny
        self.heads = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            while True:
                client, _ = self.sock.accept()
                threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()
        except OSError:
            return  # closed by stop()

    def _tunnel(self, client):
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = client.recv(4096)
            if not data:
                return client.close()
            head += data
        self.heads.append(head.decode("latin-1"))
        if self.deny:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return client.close()
        target = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_pipe, args=(target, client), daemon=True).start()
        _pipe(client, target)

    def stop(self):
        self.sock.close()


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@pytest.fixture
def stub():
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture
def pool():
    p = Pool(proxy_mode="none")
    yield p
    p.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate for upstream.test and 127.0.0.1 (needs the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = str(d / "key.pem"), str(d / "cert.pem")
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-keyout", key, "-out", crt, "-subj", "/CN=upstream.test",
                           "-addext", "subjectAltName=DNS:upstream.test,IP:127.0.0.1"],
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip("openssl could not make a test certificate: %s" % proc.stderr[-200:])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(crt, key)
    client = ssl.create_default_context(cafile=crt)
    return server, client


def _get(pool, url, **kw):
    with pool.send("GET", url, [], b"", **kw) as resp:
        return resp.status, resp.read()


def test_post_roundtrip_relays_status_headers_and_body(stub, pool):
    resp = pool.send("POST", stub.url + "/v1/hello?x=1", [("Content-Type", "application/json"),
                                                         ("Accept-Encoding", "gzip, br")], b'{"a":1}')
    assert (resp.status, resp.reason) == (200, "OK")
    assert resp.header("X-Request-ID") == "req-1" and resp.header("retry-after") == "7"
    assert [k for k, _ in resp.headers][:3] == ["Server", "Date", "Content-Type"]
    assert resp.read() == b'{"a":1}'
    resp.close()
    seen = stub.requests[0]
    assert (seen.method, seen.path, seen.body) == ("POST", "/v1/hello?x=1", b'{"a":1}')
    assert seen.headers["accept-encoding"] == "identity"
    assert seen.headers["host"] == "127.0.0.1:%d" % stub.port
    assert seen.headers["content-length"] == "7"


def test_error_status_is_a_response_not_an_exception(stub, pool):
    with pool.send("GET", stub.url + "/limited", [], b"") as resp:
        assert (resp.status, resp.header("Retry-After"), resp.read()) == (429, "3", b"slow")


def test_keep_alive_reuses_one_connection_with_nodelay(stub, pool):
    for _ in range(5):
        assert _get(pool, stub.url + "/hello") == (200, b"hello")
    assert stub.connections == 1
    (conn, _), = next(iter(pool._idle.values()))
    assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_connection_dying_on_reuse_is_retried_once_transparently(stub, pool):
    assert _get(pool, stub.url + "/close-on-reuse") == (200, b"hello")
    assert _get(pool, stub.url + "/close-on-reuse") == (200, b"hello")
    assert stub.connections == 2 and len(stub.requests) == 3  # the lost request, then the retry


def test_idle_connection_closed_by_server_is_detected_before_sending(stub, pool, monkeypatch):
    checks = []
    real = upstream._is_dropped
    monkeypatch.setattr(upstream, "_is_dropped", lambda sock: checks.append(real(sock)) or checks[-1])
    assert _get(pool, stub.url + "/close-silently") == (200, b"hello")
    assert stub.wait_closed()
    assert _get(pool, stub.url + "/hello") == (200, b"hello")
    assert checks == [True] and stub.connections == 2


def test_fresh_connection_dropped_without_response_is_not_retried(stub, pool):
    with pytest.raises(UpstreamError) as info:
        pool.send("POST", stub.url + "/drop", [], b"{}", downstream_id="ds")
    assert info.value.status == 502 and not info.value.retryable
    assert "closed the connection without a response" in info.value.message
    assert len(stub.requests) == 1


def test_chunked_body_and_connection_is_reused(stub, pool):
    with pool.send("GET", stub.url + "/chunked", [], b"") as resp:
        assert b"".join(resp.iter_chunks()) == b"alpha beta gamma"
    assert _get(pool, stub.url + "/chunked") == (200, b"alpha beta gamma")
    assert stub.connections == 1


def test_body_read_until_close_is_not_pooled(stub, pool):
    assert _get(pool, stub.url + "/until-close") == (200, b"all of it, then EOF")
    assert pool._idle == {}


def test_sse_lines_arrive_while_the_upstream_is_still_sending(stub, pool):
    resp = pool.send("GET", stub.url + "/sse", [], b"", idle_timeout=5)
    assert resp.is_event_stream
    assert resp.readline() == b"data: one\n"  # would time out if the client waited for more
    assert resp.readline() == b"\n" and not stub.gate.is_set()
    stub.gate.set()
    assert [resp.readline() for _ in range(3)] == [b"data: two\n", b"\n", b""]
    resp.close()
    assert _get(pool, stub.url + "/hello")[0] == 200 and stub.connections == 1


def test_readline_to_the_end_of_a_content_length_body_keeps_the_connection(stub, pool):
    with pool.send("POST", stub.url + "/hello", [], b"a\nb\n") as resp:
        assert [resp.readline() for _ in range(3)] == [b"a\n", b"b\n", b""]
    assert _get(pool, stub.url + "/hello")[0] == 200 and stub.connections == 1


def test_no_response_headers_within_idle_timeout_is_504(stub, pool):
    start = time.monotonic()
    with pytest.raises(UpstreamError) as info:
        pool.send("GET", stub.url + "/stall", [], b"", idle_timeout=0.3, downstream_id="slow")
    assert time.monotonic() - start < 2
    assert info.value.status == 504 and info.value.downstream_id == "slow"
    assert info.value.message == "downstream slow: 127.0.0.1:%d sent no response for 0.3 s" % stub.port


def test_body_stall_is_504(stub, pool):
    resp = pool.send("GET", stub.url + "/stall-body", [], b"", idle_timeout=0.3)
    with pytest.raises(UpstreamError) as info:
        resp.read()
    assert info.value.status == 504 and "stalled: no data for 0.3 s" in info.value.message
    resp.close()
    assert pool._idle == {}


def test_connection_reset_mid_body_is_502(stub, pool):
    resp = pool.send("GET", stub.url + "/truncated", [], b"")
    with pytest.raises(UpstreamError) as info:
        resp.read()
    assert info.value.status == 502 and "closed the connection mid-response" in info.value.message
    assert pool._idle == {}


def test_malformed_response_is_502(stub, pool):
    with pytest.raises(UpstreamError) as info:
        pool.send("GET", stub.url + "/garbage", [], b"")
    assert info.value.status == 502 and "malformed response" in info.value.message


def test_connection_refused_names_host_port_and_downstream(pool):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UpstreamError) as info:
        pool.send("GET", "http://127.0.0.1:%d/v1/models" % port, [], b"", downstream_id="local")
    err = info.value
    assert (err.status, err.retryable, err.downstream_id) == (502, True, "local")
    assert err.message == "downstream local: cannot connect to 127.0.0.1:%d (connection refused)" % port


def _resolver_answers_within(name, seconds):
    def lookup():
        try:
            socket.getaddrinfo(name, 80)
        except OSError:
            pass
    t = threading.Thread(target=lookup, daemon=True)
    t.start()
    t.join(seconds)
    return not t.is_alive()


@pytest.mark.timeout(30)
def test_dns_failure_is_502(pool):
    if not _resolver_answers_within("nonexistent.invalid", 5):
        pytest.skip("the sandbox resolver takes more than 5 s")
    with pytest.raises(UpstreamError) as info:
        pool.send("GET", "http://nonexistent.invalid/v1", [], b"", connect_timeout=2)
    assert info.value.status == 502 and info.value.message == "cannot resolve nonexistent.invalid"


def test_tls_to_a_plain_http_server_fails_the_handshake(stub, pool):
    with pytest.raises(UpstreamError) as info:
        pool.send("GET", "https://127.0.0.1:%d/" % stub.port, [], b"", connect_timeout=2)
    assert info.value.status == 502 and info.value.retryable
    assert info.value.message.startswith("TLS handshake with 127.0.0.1 failed: ")


def test_close_mid_stream_closes_the_upstream_socket(stub, pool):
    resp = pool.send("GET", stub.url + "/endless", [], b"")
    assert resp.readline() == b"data: tick\n"
    resp.close()
    assert stub.disconnected.wait(5)
    assert pool._idle == {}


def test_idle_connections_expire_after_ttl(stub):
    p = Pool(proxy_mode="none", idle_ttl_s=0.05)
    _get(p, stub.url + "/hello")
    time.sleep(0.15)
    _get(p, stub.url + "/hello")
    p.close()
    assert stub.connections == 2


def test_pool_keeps_at_most_max_idle_per_host(stub):
    p = Pool(proxy_mode="none", max_idle_per_host=1)
    first, second = (p.send("GET", stub.url + "/hello", [], b"") for _ in range(2))
    for resp in (first, second):
        resp.read()
        resp.close()
    assert [len(v) for v in p._idle.values()] == [1] and stub.wait_closed()
    p.close()
    assert stub.wait_closed()  # close() closes the idle connection too


def test_concurrent_requests_share_the_pool(stub, pool):
    results = []

    def worker():
        for _ in range(10):
            results.append(_get(pool, stub.url + "/hello")[0])
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == [200] * 80 and stub.connections <= 8


def test_plain_http_through_env_proxy_uses_absolute_target_and_auth(stub):
    p = Pool(proxy_mode="env", environ={"HTTP_PROXY": "http://user:p%%40ss@127.0.0.1:%d" % stub.port})
    assert _get(p, "http://upstream.example:8080/v1/hello?x=1") == (200, b"hello")
    p.close()
    seen = stub.requests[0]
    assert seen.path == "http://upstream.example:8080/v1/hello?x=1"
    assert seen.headers["host"] == "upstream.example:8080"
    assert seen.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()


def test_loopback_destination_bypasses_the_proxy(stub):
    p = Pool(proxy_mode="env", environ={"http_proxy": "http://proxy.invalid:3128"})
    assert _get(p, stub.url + "/hello") == (200, b"hello")
    p.close()


def test_set_proxy_mode_switches_live(stub):
    p = Pool(proxy_mode="none", environ={"http_proxy": "http://127.0.0.1:%d" % stub.port})
    p.set_proxy_mode("env")
    assert _get(p, "http://upstream.example/hello") == (200, b"hello")
    p.set_proxy_mode("none")
    assert p._idle == {} and stub.wait_closed()
    assert p._call("http://upstream.example/hello", 1.0, "")[0].origin.proxy is None
    p.close()


def test_connect_tunnel_carries_plain_http_via_test_flag(stub):
    tunnel = ConnectProxy(stub.port)
    p = Pool(proxy_mode="env", environ={"http_proxy": "http://u:p@127.0.0.1:%d" % tunnel.port})
    p._is_tunnel_http = True
    for _ in range(2):
        assert _get(p, "http://upstream.test:%d/hello" % stub.port) == (200, b"hello")
    p.close()
    tunnel.stop()
    assert len(tunnel.heads) == 1  # the tunnel is kept alive like any connection
    assert tunnel.heads[0].startswith("CONNECT upstream.test:%d HTTP/1." % stub.port)
    assert "Proxy-Authorization: Basic " + base64.b64encode(b"u:p").decode() in tunnel.heads[0]
    assert stub.requests[0].path == "/hello" and stub.requests[0].headers["host"] == "upstream.test:%d" % stub.port


def test_connect_refused_by_proxy_names_the_proxy(stub):
    tunnel = ConnectProxy(stub.port, deny=True)
    p = Pool(proxy_mode="env", environ={"https_proxy": "http://127.0.0.1:%d" % tunnel.port})
    with pytest.raises(UpstreamError) as info:
        p.send("GET", "https://upstream.test/v1", [], b"", downstream_id="d")
    tunnel.stop()
    assert info.value.status == 502
    assert info.value.message.startswith("downstream d: proxy 127.0.0.1:%d refused to tunnel to upstream.test:443"
                                         % tunnel.port)
    assert "407" in info.value.message


def test_https_direct_and_through_connect_tunnel(cert, monkeypatch):
    server_ctx, client_ctx = cert
    tls = Upstream(tls=server_ctx)
    tunnel = ConnectProxy(tls.port)
    monkeypatch.setattr(upstream, "ssl_context", lambda: client_ctx)
    direct = Pool(proxy_mode="none")
    proxied = Pool(proxy_mode="env", environ={"HTTPS_PROXY": "http://127.0.0.1:%d" % tunnel.port})
    try:
        assert _get(direct, tls.url + "/hello") == (200, b"hello")
        assert _get(proxied, "https://upstream.test:%d/hello" % tls.port) == (200, b"hello")
        with pytest.raises(UpstreamError) as info:  # the certificate does not name localhost
            direct.send("GET", "https://localhost:%d/hello" % tls.port, [], b"")
    finally:
        direct.close()
        proxied.close()
        tunnel.stop()
        tls.stop()
    assert "TLS handshake with localhost failed" in info.value.message
    assert tunnel.heads[0].startswith("CONNECT upstream.test:%d " % tls.port)
    assert tls.requests[1].headers["host"] == "upstream.test:%d" % tls.port


@pytest.mark.parametrize("no_proxy, host, port, bypass", [
    ("", "api.openai.com", 443, False),
    ("*", "api.openai.com", 443, True),
    ("openai.com", "api.openai.com", 443, True),
    ("openai.com", "openai.com", 443, True),
    ("openai.com", "notopenai.com", 443, False),
    (".openai.com", "openai.com", 443, True),
    (".openai.com", "api.openai.com", 443, True),
    ("*.openai.com", "api.openai.com", 443, True),
    ("OpenAI.COM", "API.openai.com.", 443, True),
    ("api.openai.com:443", "api.openai.com", 443, True),
    ("api.openai.com:8443", "api.openai.com", 443, False),
    ("a.example, b.example", "x.b.example", 80, True),
    ("a.example b.example", "c.example", 80, False),
    ("192.168.1.5", "192.168.1.5", 80, True),
    ("192.168.1.5:8080", "192.168.1.5", 80, False),
    ("10.0.0.0/8", "10.1.2.3", 80, True),
    ("10.0.0.0/8", "11.1.2.3", 80, False),
    ("10.0.0.0/8", "ten.example", 80, False),
    ("fd00::/8", "fd00::1", 80, True),
    ("[fd00::1]:8080", "fd00::1", 8080, True),
    ("not a/cidr", "example.com", 80, False),
])
def test_no_proxy_matching(no_proxy, host, port, bypass):
    assert proxy.NoProxy(no_proxy).matches(host, port) is bypass


@pytest.mark.parametrize("mode, environ, scheme, host, expected", [
    ("env", {"HTTPS_PROXY": "http://p:1"}, "https", "api.example", ("p", 1)),
    ("env", {"HTTPS_PROXY": "http://p:1"}, "http", "api.example", None),
    ("auto", {"http_proxy": "p2:3128"}, "http", "api.example", ("p2", 3128)),
    ("env", {"HTTP_PROXY": "http://up:1", "http_proxy": "http://low:2"}, "http", "api.example", ("low", 2)),
    ("env", {"HTTP_PROXY": "http://up:1", "http_proxy": ""}, "http", "api.example", None),
    ("none", {"HTTPS_PROXY": "http://p:1"}, "https", "api.example", None),
    ("env", {"HTTPS_PROXY": "http://p:1", "no_proxy": "example"}, "https", "api.example", None),
    ("env", {"HTTPS_PROXY": "http://p:1"}, "https", "127.0.0.1", None),
    ("env", {"HTTPS_PROXY": "http://p:1"}, "https", "127.9.9.9", None),
    ("env", {"HTTPS_PROXY": "http://p:1"}, "https", "::1", None),
    ("env", {"HTTPS_PROXY": "http://p:1"}, "https", "localhost", None),
])
def test_proxy_selection(mode, environ, scheme, host, expected):
    chosen = proxy.compile(mode, environ).select(scheme, host, 443)
    assert (chosen and (chosen.host, chosen.port)) == expected


@pytest.mark.parametrize("base, path, query, url", [
    ("https://h/v1", "/v1/chat/completions", "", "https://h/v1/chat/completions"),
    ("https://h/v1/", "/v1/chat/completions", "", "https://h/v1/chat/completions"),
    ("https://h/v1", "/v1beta/models/x:streamGenerateContent", "alt=sse",
     "https://h/v1beta/models/x:streamGenerateContent?alt=sse"),
    ("https://h", "/v1/messages", "", "https://h/v1/messages"),
    ("https://x/openai", "/v1/chat/completions", "", "https://x/openai/v1/chat/completions"),
    ("https://api.deepseek.com/anthropic", "/v1/messages", "", "https://api.deepseek.com/anthropic/v1/messages"),
    ("https://h/v1x", "/v1xy/z", "", "https://h/v1x/v1xy/z"),
    ("http://127.0.0.1:8080/", "/v1/models", "a=1&b=2", "http://127.0.0.1:8080/v1/models?a=1&b=2"),
    ("https://openrouter.ai/api/v1", "/v1/chat/completions", "", "https://openrouter.ai/api/v1/chat/completions"),
    ("https://h/compatible-mode/v1", "/v1/responses", "", "https://h/compatible-mode/v1/responses"),
])
def test_join_url(base, path, query, url):
    assert join_url(base, path, query) == url


def test_body_left_at_its_terminal_event_is_drained_so_the_connection_is_reused(stub, pool):
    # A translated stream stops reading at `data: [DONE]`; the final chunk is already buffered.
    with pool.send("GET", stub.url + "/chunked", [], b"") as resp:
        assert resp.read1(6) == b"alpha "
    assert _get(pool, stub.url + "/hello")[0] == 200 and stub.connections == 1


def test_body_still_producing_is_not_drained_for_long(stub, pool):
    resp = pool.send("GET", stub.url + "/endless", [], b"")
    assert resp.readline() == b"data: tick\n"
    started = time.monotonic()
    resp.close()
    assert time.monotonic() - started < 1 and pool._idle == {}
