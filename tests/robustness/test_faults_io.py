"""I/O faults against the real daemon: huge upstream bodies and streams (memory stays bounded),
clients that disconnect mid-request or mid-stream (the upstream connection is closed, the thread
freed), and slow-loris clients (the header deadline frees their threads).
"""
import http.client
import json
import socket
import threading
import time

import pytest

from tests.robustness import support
from tests.support import Gateway

MB = 1 << 20


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, stub):
    proc = support.start_daemon(tmp_path_factory.mktemp("faults-io"), "stream_idle_timeout: 5\n", stub.url)
    yield proc
    proc.kill()


@pytest.fixture(autouse=True)
def no_crash(daemon):
    """After each test: the daemon is up and logged no traceback."""
    yield from support.watch_for_crashes(daemon)


def _openai_delta(text):
    return 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,' \
           '"delta":{"content":"%s"},"finish_reason":null}]}\n\n' % text


def _huge_stream_script(total_bytes):
    event = support.chunk(_openai_delta("x" * 8000))
    count = total_bytes // len(event) + 1
    tail = support.chunk(support.UPSTREAM_STREAM["openai"][-3]) + support.chunk("data: [DONE]\n\n") + b"0\r\n\r\n"

    def script(conn):
        conn.sendall(support.sse_head() + support.chunk(support.UPSTREAM_STREAM["openai"][0]))
        for _ in range(count):
            conn.sendall(event)
        conn.sendall(tail)
    return script, count


class RssSampler:
    """Samples a process's VmRSS every 50 ms in a thread; `peak_kb` after stop()."""

    def __init__(self, pid):
        self.pid, self.peak_kb = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, support.proc_reading(self.pid)["rss_kb"])
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        return self.peak_kb


@pytest.mark.timeout(120)
@pytest.mark.parametrize("client_format", ["openai", "anthropic"])
def test_a_50_mb_stream_passes_through_with_bounded_memory(daemon, stub, client_format):
    stub.script, count = _huge_stream_script(50 * MB)
    before = support.proc_reading(daemon.proc.pid)["rss_kb"]
    sampler = RssSampler(daemon.proc.pid)
    path, body = support.client_request(client_format, "gpt-x", True)
    conn = http.client.HTTPConnection(*support.host_port(daemon.url), timeout=30)
    received, deltas, tail = 0, 0, b""
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        while True:
            data = resp.read(256 * 1024)
            if not data:
                break
            received += len(data)
            deltas += (tail[-7000:] + data).count(b"x" * 7000) - tail[-7000:].count(b"x" * 7000)
            tail = data[-16000:]
    finally:
        conn.close()
        peak = sampler.stop()
    assert received >= 50 * 10 ** 6, received
    assert deltas >= count * 0.99, (deltas, count)
    assert (peak - before) < 25 * 1024, "RSS grew from %d to %d KiB" % (before, peak)
    support.record("huge_stream_%s" % client_format, {"bytes": received, "rss_before_kb": before,
                                                      "rss_peak_kb": peak})


@pytest.mark.timeout(60)
@pytest.mark.parametrize("client_format", ["openai", "anthropic"])
def test_a_20_mb_json_response_arrives_whole(daemon, stub, client_format):
    text = "y" * (20 * MB)
    answer = dict(support.UPSTREAM_TEXT["openai"])
    answer["choices"] = [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
    raw = json.dumps(answer).encode()
    stub.script = lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                            b"Content-Length: %d\r\n\r\n" % len(raw) + raw)
    reply = support.generate(daemon.url, client_format, "gpt-x", timeout=30)
    assert reply.status == 200, reply
    obj = reply.json
    got = obj["choices"][0]["message"]["content"] if client_format == "openai" else obj["content"][0]["text"]
    assert got == text


def _upstream_that_keeps_streaming(closed: threading.Event):
    def script(conn):
        conn.sendall(support.sse_head() + support.chunk(support.UPSTREAM_STREAM["openai"][0]))
        try:
            for i in range(200):
                conn.sendall(support.chunk(_openai_delta("tick %d" % i)))
                time.sleep(0.05)
        except OSError:
            closed.set()
    return script


def _baseline(daemon):
    # Idle connections from earlier tests may still be closing: let the thread count settle first.
    readings = []
    support.wait_until(lambda: readings.append(support.proc_reading(daemon.proc.pid)["threads"]) or
                       (len(readings) > 3 and readings[-1] == readings[-4]), 5, 0.1)
    return readings[-1]


@pytest.mark.parametrize("client_format", ["openai", "anthropic", "gemini"])
def test_client_disconnect_mid_stream_closes_the_upstream_and_frees_the_thread(daemon, stub, client_format):
    threads = _baseline(daemon)
    closed = threading.Event()
    stub.script = _upstream_that_keeps_streaming(closed)
    path, body = support.client_request(client_format, "gpt-x", True)
    raw = json.dumps(body).encode()
    sock = socket.create_connection(support.host_port(daemon.url), timeout=10)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (path.encode(), len(raw), raw))
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    sock.close()
    assert closed.wait(5), "the upstream connection stayed open after the client left"
    assert support.wait_until(lambda: support.proc_reading(daemon.proc.pid)["threads"] <= threads, 5), \
        support.proc_reading(daemon.proc.pid)


@pytest.mark.parametrize("partial", [
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"model\": \"gpt",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le",
    b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"model\"",
])
def test_client_disconnect_mid_request_never_reaches_upstream_and_frees_the_thread(daemon, stub, partial):
    threads = _baseline(daemon)
    reached = threading.Event()
    stub.script = lambda conn: reached.set()
    for _ in range(20):
        sock = socket.create_connection(support.host_port(daemon.url), timeout=10)
        sock.sendall(partial)
        sock.close()
    assert support.wait_until(lambda: support.proc_reading(daemon.proc.pid)["threads"] <= threads, 5), \
        support.proc_reading(daemon.proc.pid)
    assert not reached.is_set()


@pytest.mark.timeout(60)
def test_slow_loris_clients_are_cut_at_the_header_deadline_while_others_are_served(tmp_path, monkeypatch):
    from tresor.gateway import server as srv

    monkeypatch.setattr(srv.Handler, "header_timeout", 1.0)
    gateway = Gateway("", tmp_path)
    try:
        host, port = support.host_port(gateway.url)
        threads = threading.active_count()
        slow = [socket.create_connection((host, port), timeout=10) for _ in range(30)]
        for sock in slow:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\n")
        started = time.monotonic()
        cut = set()
        while len(cut) < len(slow) and time.monotonic() - started < 6:
            assert support.call(gateway.url, "GET", "/api/health", timeout=2).status == 200
            for i, sock in enumerate(slow):
                if i in cut:
                    continue
                try:
                    sock.sendall(b"X-Drip: %d\r\n" % i)
                except OSError:
                    cut.add(i)
            time.sleep(0.2)
        took = time.monotonic() - started
        assert len(cut) == len(slow), "%d of %d slow clients still connected after %.1f s" % (
            len(slow) - len(cut), len(slow), took)
        assert took < 4.0, took
        for sock in slow:
            sock.close()
        assert support.wait_until(lambda: threading.active_count() <= threads, 5), threading.active_count()
    finally:
        gateway.close()


def test_idle_upstream_connections_are_closed_by_the_periodic_sweep_without_new_traffic():
    # After a burst, a quiet daemon must not keep its pooled sockets past the idle TTL.
    from concurrent.futures import ThreadPoolExecutor

    from tests.support import FakeUpstream
    from tresor import cli
    from tresor.gateway.upstream import Pool

    upstream = FakeUpstream()
    pool = Pool(proxy_mode="off", idle_ttl_s=0.3)
    try:
        for _ in range(6):
            upstream.enqueue(200, {"ok": True})

        def one(_):
            with pool.send("GET", upstream.url + "/x", [], b"", idle_timeout=5) as resp:
                return resp.read()

        with ThreadPoolExecutor(6) as workers:
            assert list(workers.map(one, range(6))) == [b'{"ok": true}'] * 6
        assert sum(len(idle) for idle in pool._idle.values()) >= 2
        stop = threading.Event()
        threading.Timer(1.2, stop.set).start()
        cli._wait_for_stop(stop, pool.sweep, sweep_every_s=0.5)
        assert sum(len(idle) for idle in pool._idle.values()) == 0
    finally:
        pool.close()
        upstream.close()
