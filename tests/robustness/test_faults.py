"""Upstream faults against the real daemon (a socket-level stub provider): resets, stalls, malformed
and failing streams, invalid JSON. The client always gets an answer in its own format, the daemon
logs no crash and stays up. Huge bodies, client disconnects and slow clients: test_faults_io.py.
"""
import json
import time

import pytest

from tests.robustness import support

IDLE_S = 1.0
EXTRA = "stream_idle_timeout: %s\n" % IDLE_S
# (client format, downstream format): each format same-format (byte relay) and translated.
PAIRS = [(f, f) for f in support.FORMATS] + [("openai", "anthropic"), ("openai_responses", "gemini"),
                                             ("anthropic", "openai"), ("gemini", "openai_responses")]
PAIR_IDS = ["%s-%s" % p for p in PAIRS]

ERROR_EVENT = {
    "openai": 'data: {"error": {"message": "overloaded", "type": "server_error", "code": 503}}\n\n',
    "openai_responses": 'event: error\ndata: {"type": "error", "code": "server_error", "message": "overloaded",'
                        ' "sequence_number": 9}\n\n',
    "anthropic": 'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
                 '"message": "Overloaded"}}\n\n',
    "gemini": 'data: {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}\r\n\r\n',
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, stub):
    proc = support.start_daemon(tmp_path_factory.mktemp("faults"), EXTRA, stub.url)
    yield proc
    proc.kill()


@pytest.fixture(autouse=True)
def no_crash(daemon):
    """After each test: the daemon is up and logged no traceback."""
    yield from support.watch_for_crashes(daemon)


def _stream(daemon, client_format, downstream, timeout=15.0):
    return support.generate(daemon.url, client_format, support.MODEL[downstream], stream=True, timeout=timeout)


def _sends(*parts, then=None):
    """A stub script: send each part (bytes) in order, then run `then(conn)`."""
    def script(conn):
        for part in parts:
            conn.sendall(part)
            time.sleep(0.02)
        if then is not None:
            then(conn)
    return script


def _events(events):
    return b"".join(support.chunk(e) for e in events)


@pytest.mark.parametrize("client_format,downstream", PAIRS, ids=PAIR_IDS)
def test_upstream_reset_mid_stream_ends_with_the_client_formats_error_event(daemon, stub, client_format,
                                                                             downstream):
    stub.script = _sends(support.sse_head(), _events(support.CONTENT_EVENT[downstream]),
                         then=support.reset)
    reply = _stream(daemon, client_format, downstream)
    assert reply.status == 200, reply
    assert support.stream_error_event(client_format, reply.text) is not None, reply.text


@pytest.mark.parametrize("client_format,downstream", PAIRS, ids=PAIR_IDS)
def test_upstream_stall_mid_stream_fires_the_idle_timeout_with_a_format_error_event(daemon, stub, client_format,
                                                                                    downstream):
    stub.script = _sends(support.sse_head(), _events(support.CONTENT_EVENT[downstream]),
                         then=lambda conn: time.sleep(IDLE_S * 4))
    started = time.monotonic()
    reply = _stream(daemon, client_format, downstream)
    took = time.monotonic() - started
    assert reply.status == 200, reply
    event = support.stream_error_event(client_format, reply.text)
    assert event is not None, reply.text
    assert "stalled" in json.dumps(event) or "504" in json.dumps(event) or "no data" in json.dumps(event), event
    assert IDLE_S * 0.9 <= took < IDLE_S * 3.5, took


@pytest.mark.parametrize("client_format", support.FORMATS)
def test_upstream_silent_before_headers_is_a_504_in_the_client_format(daemon, stub, client_format):
    stub.script = lambda conn: time.sleep(IDLE_S * 4)
    reply = support.generate(daemon.url, client_format, support.MODEL["openai"], stream=False, timeout=15)
    assert reply.status == 504, reply
    assert support.is_error_shape(client_format, reply.json), reply


@pytest.mark.parametrize("client_format,downstream", PAIRS, ids=PAIR_IDS)
def test_an_error_event_first_in_a_200_stream_becomes_an_http_error_in_the_client_format(daemon, stub,
                                                                                          client_format, downstream):
    stub.script = _sends(support.sse_head() + support.chunk(ERROR_EVENT[downstream]) + b"0\r\n\r\n")
    reply = _stream(daemon, client_format, downstream)
    assert reply.status in (502, 503, 529), reply  # a Responses error event carries no HTTP status
    assert support.is_error_shape(client_format, reply.json), reply
    assert "verloaded" in reply.text


@pytest.mark.parametrize("client_format,downstream", PAIRS, ids=PAIR_IDS)
def test_an_error_event_after_content_becomes_the_client_formats_stream_error(daemon, stub, client_format,
                                                                               downstream):
    stub.script = _sends(support.sse_head(), _events(support.CONTENT_EVENT[downstream]),
                         support.chunk(ERROR_EVENT[downstream]) + b"0\r\n\r\n")
    reply = _stream(daemon, client_format, downstream)
    assert reply.status == 200, reply
    assert "verloaded" in reply.text, reply.text
    if client_format != downstream:  # a same-format stream relays the upstream's own error event
        assert support.stream_error_event(client_format, reply.text) is not None, reply.text


MALFORMED = ["data: {not json\n\n", ": just a comment\n\n", "event: surprise\n\n", "data: [1, 2, 3]\n\n",
             "data: \"a string\"\n\n", "data: null\n\n", "data: {\"choices\": 5, \"type\": [], \"candidates\": {}}\n\n",
             "\xff\xfe garbage without a newline at all", "\n\n\n", "data: {\"type\": {\"x\": 1}}\n\n",
             "id: 7\nretry: abc\n\n", "data:" + "x" * 70000 + "\n\n"]


@pytest.mark.parametrize("client_format,downstream", PAIRS, ids=PAIR_IDS)
def test_malformed_sse_between_good_events_is_survived(daemon, stub, client_format, downstream):
    events = support.UPSTREAM_STREAM[downstream]
    noise = b"".join(support.chunk(m.encode("utf-8", "surrogateescape")) for m in MALFORMED)
    stub.script = _sends(support.sse_head(), _events(events[:2]), noise,
                         _events(events[2:]) + b"0\r\n\r\n")
    reply = _stream(daemon, client_format, downstream)
    assert reply.status == 200, reply
    assert support.sse_payloads(reply.text), reply.text


@pytest.mark.parametrize("client_format", support.FORMATS)
@pytest.mark.parametrize("raw", [b'{"choices": [', b"<html>502 Bad Gateway</html>", b"", b"[1, 2]", b"\xff\xfe\x00"])
def test_invalid_json_from_upstream_is_a_502_in_the_client_format_when_translating(daemon, stub, client_format, raw):
    downstream = "anthropic" if client_format != "anthropic" else "gemini"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(raw)
    stub.script = _sends(head + raw)
    reply = support.generate(daemon.url, client_format, support.MODEL[downstream], stream=False)
    assert reply.status == 502, reply
    assert support.is_error_shape(client_format, reply.json), reply


@pytest.mark.parametrize("client_format", support.FORMATS)
def test_upstream_reset_before_any_byte_is_a_502_in_the_client_format(daemon, stub, client_format):
    stub.script = support.reset
    for stream in (False, True):
        reply = support.generate(daemon.url, client_format, support.MODEL["openai"], stream=stream)
        assert reply.status == 502, reply
        assert support.is_error_shape(client_format, reply.json), reply


def test_a_truncated_upstream_body_is_a_502_not_a_short_success(daemon, stub):
    body = json.dumps(support.UPSTREAM_TEXT["anthropic"]).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (len(body) + 100)
    stub.script = _sends(head + body, then=support.reset)
    reply = support.generate(daemon.url, "openai", support.MODEL["anthropic"], stream=False)
    assert reply.status == 502, reply
    assert support.is_error_shape("openai", reply.json), reply
