"""connection.ClientConnection with the real App: what runs on the loop, hand-offs, streams, failures."""
import json
import socket
import threading
import time

import pytest

from tests.gateway.loop_support import (CHAT, EVENTS, SSE_HEAD, STREAM, Client, chunked, gateway, json_head,
                                        post, raw, warm)
from tresor.gateway import handler as handler_module

__all__ = ["gateway", "raw"]  # fixtures


def test_ordinary_requests_run_on_the_loop_once_a_connection_is_pooled(gateway, raw):
    warm(gateway, raw)
    sock = Client(gateway)
    for _ in range(5):
        sock.sendall(post("/v1/chat/completions", CHAT))
        head, body = sock.read_response()
        assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["choices"][0]["message"]["content"] == "hello"
        assert b"x-tresor-overhead-ms" in head and b"Access-Control-Allow-Origin" in head
    sock.close()
    assert gateway.submitted == [] and raw.connections == 1 and len(raw.requests) == 6
    assert raw.requests[-1].endswith(CHAT)
    entry = gateway.app.log.recent(1)[0]
    assert entry["status"] == 200 and entry["downstream_id"] == "oa"


def test_stream_on_the_loop_is_byte_identical_however_the_upstream_splits_it(gateway, raw):
    warm(gateway, raw)
    wire = SSE_HEAD + chunked(EVENTS)

    def dribble(conn):  # cut everywhere: mid chunk-size line, mid event, mid CRLF
        for start in range(0, len(wire), 7):
            conn.sendall(wire[start:start + 7])
            time.sleep(0.001)

    raw.actions.append(dribble)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", STREAM))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    assert body == b"".join(EVENTS)
    assert gateway.submitted == []
    entry = gateway.app.log.recent(1)[0]
    assert entry["usage"] == {"input_tokens": 3, "output_tokens": 2} and entry["bytes"] == len(body)


def test_a_stream_that_fails_before_its_first_event_is_an_http_error(gateway, raw):
    warm(gateway, raw)
    error = b'data: {"error":{"message":"overloaded","type":"overloaded_error","code":529}}\n\n'
    raw.actions.append(lambda c: c.sendall(SSE_HEAD + chunked([error])))
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", STREAM))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 529") and b"overloaded" in body


def test_client_leaving_during_upstream_silence_closes_the_upstream_at_once(gateway, raw):
    warm(gateway, raw)
    release = threading.Event()
    raw.closed.clear()

    def first_then_silence(conn):
        conn.sendall(SSE_HEAD + b"%x\r\n%s\r\n" % (len(EVENTS[0]), EVENTS[0]))
        release.wait(5)
        try:
            conn.sendall(b"5\r\nmore\n\r\n")  # the gateway has closed it: this fails or is discarded
        except OSError:
            pass

    raw.actions.append(first_then_silence)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", STREAM))
    assert b"he" in sock.sock.recv(65536)
    sock.close()
    started = time.monotonic()
    for _ in range(100):
        if not gateway.server.connections and gateway.tracker.wait_idle(0):
            break
        time.sleep(0.02)
    assert time.monotonic() - started < 1.5  # not at the next upstream byte (never) or the idle timeout
    release.set()
    assert raw.closed.wait(3)
    assert gateway.app.log.recent(1)[0]["status"] == 200


def test_upstream_silence_before_the_head_is_a_504_in_the_client_format(gateway, raw):
    warm(gateway, raw)
    raw.actions.append(lambda c: time.sleep(4))
    sock = Client(gateway)
    started = time.monotonic()
    sock.sendall(post("/v1/messages", json.dumps({"model": "gpt-x", "max_tokens": 5, "messages": []}).encode()))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 504") and json.loads(body)["type"] == "error"
    assert time.monotonic() - started < 3.5


def test_upstream_reset_mid_stream_ends_with_the_stream_error_event(gateway, raw):
    warm(gateway, raw)

    def reset_after_first(conn):
        conn.sendall(SSE_HEAD + b"%x\r\n%s\r\n" % (len(EVENTS[0]), EVENTS[0]))
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return False

    raw.actions.append(reset_after_first)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", STREAM))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and body.startswith(EVENTS[0])
    assert b"error" in body[len(EVENTS[0]):] and b"oa" in body[len(EVENTS[0]):]
    assert "closed the connection mid-response" in gateway.app.log.recent(1)[0]["error"]


def test_a_keep_alive_connection_the_upstream_dropped_is_retried_on_a_new_one(gateway, raw):
    warm(gateway, raw)
    raw.actions.append(lambda c: False)  # reads the request, then closes without a byte
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and b"hello" in body
    assert raw.connections == 2 and len(raw.requests) == 3
    assert gateway.submitted == ["_serve_in_worker"]


def test_pipelined_requests_and_pieces_of_a_body_are_all_answered_in_order(gateway, raw):
    warm(gateway, raw)
    raw.actions.append(lambda c: c.sendall(json_head(b'{"n":1}')))
    raw.actions.append(lambda c: c.sendall(json_head(b'{"n":2}')))
    raw.actions.append(lambda c: c.sendall(json_head(b'{"n":3}')))
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT) + post("/v1/chat/completions", CHAT))
    third = post("/v1/chat/completions", CHAT)
    for start in range(0, len(third), 40):
        time.sleep(0.01)
        sock.sendall(third[start:start + 40])
    bodies = [json.loads(sock.read_response()[1])["n"] for _ in range(3)]
    sock.close()
    assert bodies == [1, 2, 3]


def test_a_half_closed_client_still_gets_its_answer(gateway, raw):
    warm(gateway, raw)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT))
    sock.sock.shutdown(socket.SHUT_WR)
    head, body = sock.read_response()
    assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" in head and b"hello" in body
    assert sock.sock.recv(10) == b"" and sock.buf == b""
    sock.close()


def test_requests_the_loop_does_not_run_go_to_a_worker_and_the_connection_comes_back(gateway, raw):
    warm(gateway, raw)
    sock = Client(gateway)
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n")
    head, body = sock.read_response()
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body) == {"status": "ok"}
    chunked_request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + chunked([CHAT[:10], CHAT[10:]]))
    sock.sendall(chunked_request)
    head, body = sock.read_response()
    assert head.startswith(b"HTTP/1.1 200") and b"hello" in body
    sock.sendall(post("/v1/chat/completions", CHAT))
    head, body = sock.read_response()
    assert head.startswith(b"HTTP/1.1 200")
    sock.close()
    assert gateway.submitted == ["_serve_in_worker", "_serve_in_worker"]
    assert raw.requests[-2].endswith(CHAT)  # the chunked body arrived whole, as Content-Length


def test_a_slow_reader_pauses_the_upstream_and_loses_nothing(gateway, raw):
    warm(gateway, raw)
    event = b"data: " + b"x" * 8000 + b"\n\n"
    wire = SSE_HEAD + chunked([event] * 1000)

    raw.actions.append(lambda c: c.sendall(wire))
    sock = Client(gateway)
    sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(post("/v1/chat/completions", STREAM))
    time.sleep(1.0)  # not reading: the gateway must stop reading the upstream, not buffer 8 MB
    queued = [len(c.out) for c in list(gateway.server.connections)]
    head, body = sock.read_response()
    sock.close()
    assert max(queued) < 2 * 1024 * 1024
    assert body == event * 1000


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(gateway, raw, monkeypatch):
    monkeypatch.setattr(handler_module.Handler, "timeout", 0.3)
    sock = Client(gateway)
    started = time.monotonic()
    sock.sock.settimeout(3)
    assert sock.sock.recv(10) == b""
    assert time.monotonic() - started < 2
    sock.close()




def test_a_server_bug_becomes_a_500_and_the_connection_keeps_working(gateway, raw, monkeypatch):
    warm(gateway, raw)
    engine = gateway.app.engine
    real_start = engine.start
    calls = []

    def broken_once(request):
        if not calls:
            calls.append(1)
            raise RuntimeError("boom")
        return real_start(request)

    monkeypatch.setattr(engine, "start", broken_once)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT))
    head, body = sock.read_response()
    assert head.startswith(b"HTTP/1.1 500") and json.loads(body)["error"]["type"] == "internal_error"
    sock.sendall(post("/v1/chat/completions", CHAT))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and b"hello" in body


def _anthropic_stream_request():
    body = json.dumps({"model": "gpt-x", "max_tokens": 5, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    return post("/v1/messages", body)


def test_a_translated_stream_is_sent_by_the_loop_and_relayed_by_a_worker_on_the_pooled_connection(gateway, raw):
    warm(gateway, raw)
    raw.actions.append(lambda c: c.sendall(SSE_HEAD + chunked(EVENTS)))
    sock = Client(gateway)
    sock.sendall(_anthropic_stream_request())
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and b"event: message_start" in body and b'"text":"he"' in body
    assert b"event: message_stop" in body
    assert gateway.submitted == ["_forward"] and raw.connections == 1  # the pooled connection was used
    assert b'"stream":true' in raw.requests[-1].replace(b" ", b"")


def test_a_translated_request_begun_on_a_dropped_connection_is_retried_on_a_new_one(gateway, raw):
    warm(gateway, raw)
    raw.actions.append(lambda c: False)  # the pooled connection dies with the request unanswered
    raw.actions.append(lambda c: c.sendall(SSE_HEAD + chunked(EVENTS)))
    sock = Client(gateway)
    sock.sendall(_anthropic_stream_request())
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200") and b"event: message_stop" in body
    assert raw.connections == 2 and len(raw.requests) == 3


def test_a_worker_stream_whose_client_left_during_upstream_silence_ends_before_the_idle_timeout(gateway, raw):
    release = threading.Event()

    def first_then_silence(conn):
        conn.sendall(SSE_HEAD + b"%x\r\n%s\r\n" % (len(EVENTS[0]), EVENTS[0]))
        release.wait(5)
        return False

    raw.actions.append(first_then_silence)
    sock = Client(gateway)  # nothing pooled yet: a worker relays this stream
    sock.sendall(_anthropic_stream_request())
    seen = b""
    for _ in range(50):  # everything the first upstream event produced, so the writer waits upstream
        seen += sock.sock.recv(65536)
        if b'"he"' in seen:
            break
    assert b"message_start" in seen and b'"he"' in seen
    time.sleep(0.2)
    sock.close()
    try:
        # The idle timeout (2 s after the upstream's last byte) would end it too; the hang-up is
        # seen well before, and the upstream connection is shut so the worker stops at once.
        assert gateway.tracker.wait_idle(1.5)
        assert gateway.submitted == ["_forward"]
    finally:
        release.set()


def _small_send_buffer(gateway):
    for _ in range(100):
        conns = list(gateway.server.connections)
        if conns:
            conns[0].sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
            return
        time.sleep(0.01)
    raise AssertionError("no connection")


def _read_all(sock, seconds):
    got, started = b"", time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - started < seconds:
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        got += data
    return got


def test_handover_while_previous_response_still_queued_keeps_order(gateway, raw):
    warm(gateway, raw)
    big = json.dumps({"id": "c1", "object": "chat.completion", "pad": "x" * (2 * 1024 * 1024)}).encode()
    raw.actions.append(lambda c: c.sendall(json_head(big)))
    sock = Client(gateway)
    _small_send_buffer(gateway)
    sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    sock.sendall(post("/v1/chat/completions", CHAT) + b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.5)  # not reading yet: most of the big answer stays queued in the connection's `out`
    queued = [len(c.out) for c in gateway.server.connections]
    got = _read_all(sock.sock, 5)
    sock.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    second = body.find(b"HTTP/1.1 200")
    assert second < 0 or second >= len(big), (
        "queued=%s: the worker's answer was written inside the first response's body at byte %d of %d"
        % (queued, second, len(big)))
    assert body[:len(big)] == big, "first response incomplete: %d of %d bytes" % (len(body), len(big))


def test_stream_to_a_vanished_client_is_recorded_once(gateway, raw):
    warm(gateway, raw)
    before = len(gateway.app.log.recent(100))
    done = []

    def stream(conn):
        conn.sendall(SSE_HEAD + b"%x\r\n%s\r\n" % (len(EVENTS[0]), EVENTS[0]))
        time.sleep(0.3)
        conn.sendall(chunked(EVENTS[1:]))  # the rest and the end, in one read
        done.append(1)

    raw.actions.append(stream)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", STREAM))
    sock.sock.close()  # the client gives up before any answer
    for _ in range(100):
        if done and not gateway.server.connections:
            break
        time.sleep(0.02)
    time.sleep(0.2)
    entries = gateway.app.log.recent(100)[: len(gateway.app.log.recent(100)) - before]
    assert len(entries) == 1, entries


def test_pipelined_requests_then_half_close_are_all_answered(gateway, raw):
    # The threaded Handler answers both requests, then sees the EOF and closes.
    warm(gateway, raw)

    def slow(body):
        def action(conn):
            time.sleep(0.2)
            conn.sendall(json_head(body))
        return action

    raw.actions.append(slow(b'{"n":1}'))
    raw.actions.append(slow(b'{"n":2}'))
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT) + post("/v1/chat/completions", CHAT))
    sock.sock.shutdown(socket.SHUT_WR)
    first = sock.read_response()
    assert json.loads(first[1]) == {"n": 1}
    second = sock.read_response()  # fails: the connection is closed after the first answer
    assert json.loads(second[1]) == {"n": 2}
    sock.close()


def test_half_close_while_the_answer_is_still_being_written_does_not_truncate_it(gateway, raw):
    warm(gateway, raw)
    big = json.dumps({"id": "c1", "object": "chat.completion", "pad": "x" * (4 * 1024 * 1024)}).encode()
    raw.actions.append(lambda c: c.sendall(json_head(big)))
    sock = Client(gateway)
    for _ in range(100):
        if gateway.server.connections:
            break
        time.sleep(0.01)
    list(gateway.server.connections)[0].sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    sock.sendall(post("/v1/chat/completions", CHAT))
    time.sleep(0.5)  # the answer is done on the loop, most of it queued in `out` (state WAITING)
    queued = [(c.state, len(c.out)) for c in gateway.server.connections]
    sock.sock.shutdown(socket.SHUT_WR)  # "no more requests" -- the answer must still arrive whole
    head, body = sock.read_response()
    sock.close()
    assert len(body) == len(big), queued


@pytest.mark.parametrize("on_the_loop", [True, False])
def test_204_with_transfer_encoding_chunked_is_answered_at_once_on_both_paths(gateway, raw, on_the_loop):
    if on_the_loop:
        warm(gateway, raw)
    raw.actions.append(lambda c: c.sendall(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"))
    sock = Client(gateway)
    started = time.monotonic()
    sock.sendall(post("/v1/chat/completions", CHAT))
    head, body = sock.read_response()
    took = time.monotonic() - started
    sock.close()
    assert gateway.submitted == ([] if on_the_loop else ["_forward"])
    assert head.startswith(b"HTTP/1.1 204") and took < 1.0, (head[:40], took)


def test_request_line_over_64k_is_414_on_the_loop_as_in_the_handler(gateway, raw):
    warm(gateway, raw)
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions?pad=" + "a" * 70000, CHAT))
    head, body = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 414"), head[:60]
