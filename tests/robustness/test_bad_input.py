"""Bad input against the real daemon: every malformed request gets a clear 4xx in the client's
format (never a 500, a hang or a dead thread), nothing smuggles headers upstream, and the web UI
never serves a file outside webui/.
"""
import json
import os
import socket

import pytest

from tests.robustness import support

CAP = 4096
EXTRA = "max_body_bytes: %d\n" % CAP


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, upstream):
    directory = tmp_path_factory.mktemp("bad-input")
    with open(os.path.join(str(directory), "config-secret.txt"), "w") as f:
        f.write("do-not-serve-Tq9")
    proc = support.start_daemon(directory, EXTRA, upstream.url)
    try:
        yield proc
        assert not support.tracebacks(proc), support.daemon_log(proc)[-4000:]
    finally:
        proc.kill()


def _path(client_format):
    path, _ = support.client_request(client_format, support.MODEL[client_format], False)
    return path


def _assert_format_error(client_format, reply, status):
    assert reply.status == status, reply
    assert support.is_error_shape(client_format, reply.json), reply


@pytest.mark.parametrize("client_format", support.FORMATS)
@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"model": "x",}', b"\x00\x01\x02", b'{"a": NaN}'[:6]])
def test_invalid_json_is_400_in_the_client_format(daemon, client_format, raw):
    reply = support.call(daemon.url, "POST", _path(client_format), raw)
    _assert_format_error(client_format, reply, 400)


@pytest.mark.parametrize("client_format", support.FORMATS)
@pytest.mark.parametrize("raw", [b'\xff\xfe{"model": "gpt-x"}', b'{"model": "gpt-\xe9x", "messages": []}',
                                 "\ufeff{}".encode("utf-16")])
def test_non_utf8_bodies_are_400_in_the_client_format(daemon, client_format, raw):
    reply = support.call(daemon.url, "POST", _path(client_format), raw)
    _assert_format_error(client_format, reply, 400)


WRONG_TYPES = [[], [1, 2], "text", 5, None, {"model": 5}, {"model": ["gpt-x"]}, {"model": {"id": "gpt-x"}},
               {"model": "gpt-x", "messages": "hi"}, {"model": "gpt-x", "messages": [5, None, "x"]},
               {"model": "gpt-x", "messages": [{"role": 5, "content": {"a": 1}}]},
               {"model": "gpt-x", "stream": "yes", "messages": []}, {"model": "gpt-x", "tools": {"a": 1}},
               {"model": "gpt-x", "max_tokens": "many", "input": {"x": 1}},
               {"contents": "hi"}, {"contents": [{"parts": "x"}]}, {"contents": [None, 5]}]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("client_format", support.FORMATS)
def test_wrong_types_never_give_a_500(daemon, upstream, client_format):
    # Each body goes to each downstream format (same-format relay and the three translations).
    for downstream in support.FORMATS:
        for body in WRONG_TYPES:
            if isinstance(body, dict) and "model" in body and isinstance(body["model"], str):
                body = dict(body, model=support.MODEL[downstream])
            for _ in range(2):  # enough canned answers for whatever reaches the upstream
                upstream.enqueue(200, support.UPSTREAM_TEXT[downstream])
            path = _path(client_format).replace(support.MODEL[client_format], support.MODEL[downstream])
            reply = support.call(daemon.url, "POST", path, body)
            assert reply.status < 500, (downstream, body, reply)
            if reply.status >= 400:
                assert support.is_error_shape(client_format, reply.json), (body, reply)
            while not upstream.answers.empty():
                upstream.answers.get_nowait()


@pytest.mark.parametrize("client_format", support.FORMATS)
def test_bodies_over_the_cap_are_413_in_the_client_format(daemon, client_format):
    big = json.dumps({"model": support.MODEL[client_format], "pad": "x" * (CAP + 1)}).encode()
    _assert_format_error(client_format, support.call(daemon.url, "POST", _path(client_format), big), 413)
    # The same body sent chunked, where the size is only known while reading.
    host, port = support.host_port(daemon.url)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" % _path(client_format).encode())
        for start in range(0, len(big), 1000):
            sock.sendall(support.chunk(big[start:start + 1000]))
        sock.sendall(b"0\r\n\r\n")
        reply = _read_reply(sock)
    _assert_format_error(client_format, reply, 413)


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read(daemon):
    host, port = support.host_port(daemon.url)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        reply = _read_reply(sock)
    _assert_format_error("anthropic", reply, 413)


def _read_reply(sock, limit=1 << 20):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
    length = int(dict((k.lower(), v) for k, v in headers).get("content-length", 0))
    while len(body) < length and len(body) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return support.Reply(int(lines[0].split()[1]), headers, body)


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/nothing"), ("POST", "/v2/chat/completions"), ("DELETE", "/v1/chat/completions"),
    ("PUT", "/v1/messages"), ("GET", "/v1/messages"), ("PATCH", "/v1beta/models/gemini-x:generateContent"),
    ("POST", "/v1beta/models/gemini-x:explode"), ("POST", "/v1beta/models/:generateContent"),
    ("GET", "/api/nothing"), ("DELETE", "/api/health/x"), ("POST", "/%00"), ("GET", "/" + "a" * 5000),
    ("BREW", "/v1/chat/completions"), ("TRACE", "/"), ("CONNECT", "127.0.0.1:1")])
def test_unknown_paths_and_methods_are_clear_4xx(daemon, method, path):
    host, port = support.host_port(daemon.url)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}" % (method.encode(), path.encode()))
        reply = _read_reply(sock)
    assert 400 <= reply.status < 500 or reply.status == 501, reply
    assert reply.body, reply


@pytest.mark.parametrize("line", [
    b"X-Note: a\rInjected: yes",            # bare CR inside a value
    b"X-Note: a\r\n Injected: yes",         # obsolete line folding
    b"X-Note: \x00Injected: yes",           # NUL
    b"X-Note: %0d%0aInjected: yes",
])
def test_header_injection_never_reaches_the_upstream_as_a_header(daemon, upstream, line):
    del upstream.requests[:]
    upstream.enqueue(200, support.UPSTREAM_TEXT["openai"])
    body = json.dumps({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}).encode()
    host, port = support.host_port(daemon.url)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (line, len(body), body))
        reply = _read_reply(sock)
    assert reply.status in (200, 400), reply
    for seen in upstream.requests:
        assert "injected" not in seen["headers"], seen["headers"]
        assert all("\r" not in v and "\n" not in v for v in seen["headers"].values()), seen["headers"]
    while not upstream.answers.empty():
        upstream.answers.get_nowait()


@pytest.mark.parametrize("client_format", support.FORMATS)
def test_model_names_with_crlf_are_refused_and_never_reach_a_header_or_url(daemon, upstream, client_format):
    del upstream.requests[:]
    model = support.MODEL[client_format] + "\r\nX-Injected: 1"
    path, body = support.client_request(client_format, model, False)
    if client_format == "gemini":
        path = path.replace(model, "gemini-x%0d%0aX-Injected:%201")
    reply = support.call(daemon.url, "POST", path, body)
    _assert_format_error(client_format, reply, 404)
    assert "x-injected" not in {k.lower() for k, _ in reply.header_list}
    assert not upstream.requests


TRAVERSALS = ["/../config.yaml", "/..%2fconfig.yaml", "/%2e%2e/config.yaml", "/%2e%2e%2fconfig.yaml",
              "/js/../../config.yaml", "/js/..%2f..%2fconfig.yaml", "/%252e%252e/config.yaml",
              "/..\\config.yaml", "/..%5cconfig.yaml", "/js/%2e%2e/%2e%2e/tresor/cli.py", "/../tresor/cli.py",
              "/....//config.yaml", "/%c0%ae%c0%ae/config.yaml", "/index.html/../../config.yaml",
              "//etc/passwd", "/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
              "/js/%00../../config.yaml", "/config-secret.txt", "/../config-secret.txt"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_web_ui_path_traversal_never_serves_a_file_outside_webui(daemon, path):
    host, port = support.host_port(daemon.url)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
        reply = _read_reply(sock)
    assert reply.status in (400, 404), reply
    for marker in (b"root:", b"db_path", b"do-not-serve", b"def main", b"downstreams"):
        assert marker not in reply.body, (path, reply)


def _raw_exchange(daemon, head: bytes, body: bytes = b"", timeout: float = 5.0):
    """Send one raw request; return (first reply, whatever else the server sent before closing)."""
    host, port = support.host_port(daemon.url)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head + body)
        reply = _read_reply(sock)
        rest = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                rest += data
        except socket.timeout:
            rest += b"<still open>"
    return reply, rest


SMUGGLED = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("size", [b"-1", b"-ff", b"0x10", b"+10", b"1_0", b"\xd9\xa1", b"10 10", b"1" * 20])
def test_malformed_chunk_sizes_are_400_and_close_the_connection(daemon, size):
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply, rest = _raw_exchange(daemon, head, size + b"\r\n" + b"{" * 16 + b"\r\n0\r\n\r\n" + SMUGGLED)
    _assert_format_error("openai", reply, 400)
    assert b"HTTP/1.1" not in rest, rest[:300]  # no second request was read from the body


@pytest.mark.parametrize("value", [b"+16", b"1_6", b"16.0", b"0x10", b"16, 17"])
def test_malformed_content_lengths_are_400(daemon, value):
    body = json.dumps({"model": "gpt-x", "x": 1}).encode()[:16]
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n" % value
    reply, rest = _raw_exchange(daemon, head, body + SMUGGLED)
    _assert_format_error("openai", reply, 400)
    assert b"HTTP/1.1" not in rest, rest[:300]


def test_conflicting_content_lengths_are_400(daemon):
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 41\r\n\r\n"
    reply, rest = _raw_exchange(daemon, head, b"{}" + SMUGGLED)
    _assert_format_error("openai", reply, 400)
    assert b"HTTP/1.1" not in rest, rest[:300]


@pytest.mark.parametrize("coding", [b"gzip", b"chunked, gzip", b"gzip, chunked", b"xchunked", b"identity"])
def test_transfer_codings_other_than_chunked_are_400_and_close(daemon, coding):
    # A body whose length the server cannot know must never be read as the next request (RFC 9112 6.3).
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\n\r\n" % coding
    reply, rest = _raw_exchange(daemon, head, SMUGGLED)
    _assert_format_error("openai", reply, 400)
    assert b"HTTP/1.1" not in rest, rest[:300]


@pytest.mark.parametrize("line,body", [(b"Transfer-Encoding : chunked", b"2\r\n{}\r\n0\r\n\r\n"),
                                       (b"Content-Length\t: 2", b"{}"), (b": no-name", b"")])
def test_whitespace_or_nothing_before_a_header_colon_is_400_and_close(daemon, line, body):
    # RFC 9112 §5.1: a server MUST reject it; a proxy in front may read such a header differently.
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % line
    reply, rest = _raw_exchange(daemon, head, body + SMUGGLED, timeout=3)
    assert reply.status == 400 and b"header" in reply.body, reply
    assert rest == b"", rest[:300]  # closed: nothing after the head is read as a request
