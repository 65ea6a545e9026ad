"""Fuzz pass over the HTTP/1.1 front door (hypothesis): random request lines, header lines and
bodies sent over a real socket to the in-process server never get a 500, never crash a handler
thread, and never hang it; the server answers a normal request afterwards.
"""
import datetime
import logging
import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.robustness import support
from tests.support import Gateway

EXAMPLES = int(os.environ.get("TRESOR_FUZZ_EXAMPLES", "60")) * 2
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=datetime.timedelta(seconds=6),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

METHODS = st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"BREW", b"", b"G ET"])
PATHS = st.one_of(st.sampled_from([b"/v1/chat/completions", b"/v1/messages", b"/v1/responses", b"/api/config",
                                   b"/v1beta/models/gemini-x:generateContent", b"/", b"/index.html", b"*",
                                   b"/api/downstreams/oa", b"http://x/v1/models"]),
                  st.binary(max_size=40))
VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1.1 x", b"", b"http/1.1"])
NAMES = st.one_of(st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"Content-Type", b"Host", b"Connection",
                                   b"Expect", b"Authorization", b"x-api-key", b"Cookie", b"Origin"]),
                  st.binary(min_size=1, max_size=12))
VALUES = st.one_of(st.sampled_from([b"0", b"5", b"-1", b"chunked", b"close", b"100-continue", b"application/json",
                                    b"Bearer x", b"999999999999", b"keep-alive"]),
                   st.binary(max_size=30))
SEPARATORS = st.sampled_from([b": ", b":", b" : ", b":\t", b""])
HEADERS = st.lists(st.tuples(NAMES, SEPARATORS, VALUES), max_size=6)
BODIES = st.one_of(st.just(b""), st.binary(max_size=64), st.sampled_from([b'{"model": "gpt-x", "messages": []}',
                                                                          b"5\r\nhello\r\n0\r\n\r\n", b"{"]))


def _request(method, path, version, headers, body):
    head = b" ".join(part for part in (method, path, version) if part) + b"\r\n"
    for name, sep, value in headers:
        head += name.replace(b"\n", b"") + sep + value.replace(b"\n", b"") + b"\r\n"
    return head + b"\r\n" + body


def _status_lines(sock):
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return [line for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")], data


class Crashes(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(self.format(record))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    from tresor.gateway import server as srv

    server = Gateway(support.DOWNSTREAMS.format(url="http://127.0.0.1:9"), tmp_path_factory.mktemp("fuzz-http"))
    old = srv.Handler.timeout, srv.Handler.header_timeout
    srv.Handler.timeout, srv.Handler.header_timeout = 1.0, 1.0  # a body that never comes ends fast
    crashes = Crashes()
    logging.getLogger("tresor").addHandler(crashes)
    server.crashes = crashes.records
    yield server
    logging.getLogger("tresor").removeHandler(crashes)
    srv.Handler.timeout, srv.Handler.header_timeout = old
    server.close()


@pytest.mark.timeout(300)
def test_random_http_requests_never_get_a_500_or_crash_a_handler(gateway):
    host, port = support.host_port(gateway.url)

    @FUZZ
    @given(method=METHODS, path=PATHS, version=VERSIONS, headers=HEADERS, body=BODIES)
    def check(method, path, version, headers, body):
        with socket.create_connection((host, port), timeout=4) as sock:
            sock.sendall(_request(method, path, version, headers, body))
            sock.shutdown(socket.SHUT_WR)
            lines, data = _status_lines(sock)
        for line in lines:
            assert b" 500 " not in line, data[:600]
        assert not gateway.crashes, gateway.crashes[0]

    check()
    assert support.call(gateway.url, "GET", "/api/health").status == 200
