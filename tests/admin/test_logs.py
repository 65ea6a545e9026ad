"""/api/logs: recent entries, the SSE stream (backlog, live, reconnect, heartbeat, slow subscribers), inspect."""
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from tresor.admin import logs
from tresor.app import App
from tresor.config.model import Config
from tests.admin.support import Api


def _unknown_model_request(url, model):
    request = urllib.request.Request(url + "/v1/chat/completions", json.dumps(
        {"model": model, "messages": []}).encode(), {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError:
        pass


class _Stream:
    """An open SSE connection; `next_event()` returns (event, data, id) or None for a comment."""

    def __init__(self, url, last_id=None):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
        self.conn.request("GET", "/api/logs/stream", headers=headers)
        self.resp = self.conn.getresponse()

    def next_event(self):
        fields = {}
        while True:
            line = self.resp.readline().decode().rstrip("\n")
            if not line:
                return (fields.get("event"), json.loads(fields["data"]), fields.get("id")) if fields else None
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = int(value) if name == "id" else value

    def until_config(self):
        events = []
        while True:
            event = self.next_event()
            if event and event[0] == "config":
                return events, event
            events.append(event)

    def close(self):
        self.conn.close()


def test_recent_logs_are_newest_first(api, gateway):
    for model in ("first", "second", "third"):
        _unknown_model_request(gateway.url, model)
    entries = api.get("/api/logs").json
    assert [e["model"] for e in entries] == ["third", "second", "first"]
    assert entries[0]["status"] == 404 and entries[0]["id"] > entries[1]["id"]


def test_stream_sends_backlog_newest_first_then_config_then_live_entries(gateway):
    for model in ("a", "b"):
        _unknown_model_request(gateway.url, model)
    stream = _Stream(gateway.url)
    try:
        assert stream.resp.getheader("Content-Type") == "text/event-stream"
        backlog, config = stream.until_config()
        assert [(e[0], e[1]["model"]) for e in backlog] == [("log", "b"), ("log", "a")]
        assert [e[2] for e in backlog] == [e[1]["id"] for e in backlog]
        assert config[1] == {"level": "info"} and config[2] == backlog[0][2]
        _unknown_model_request(gateway.url, "live")
        event = stream.next_event()
        assert event[0] == "log" and event[1]["model"] == "live" and event[2] > config[2]
    finally:
        stream.close()


def test_reconnect_with_last_event_id_sends_only_newer_entries(gateway):
    for model in ("a", "b", "c"):
        _unknown_model_request(gateway.url, model)
    first = _Stream(gateway.url)
    backlog, _ = first.until_config()
    first.close()
    seen = backlog[1][2]  # as if the client had only received up to "b"
    again = _Stream(gateway.url, last_id=seen)
    try:
        backlog, config = again.until_config()
        assert [e[1]["model"] for e in backlog] == ["c"] and config[2] == backlog[0][2]
    finally:
        again.close()


def test_a_last_event_id_from_before_a_restart_gets_the_whole_backlog(gateway):
    _unknown_model_request(gateway.url, "after-restart")
    stream = _Stream(gateway.url, last_id=10**6)
    try:
        backlog, _ = stream.until_config()
        assert [e[1]["model"] for e in backlog] == ["after-restart"]
    finally:
        stream.close()


def test_heartbeat_comments_keep_the_stream_alive(gateway, monkeypatch):
    monkeypatch.setattr(logs, "HEARTBEAT_S", 0.2)
    stream = _Stream(gateway.url)
    try:
        stream.until_config()
        assert stream.next_event() is None  # only a ": heartbeat" comment arrives
    finally:
        stream.close()


def test_a_subscriber_that_falls_behind_is_dropped_without_blocking_the_logger(monkeypatch):
    monkeypatch.setattr(logs, "QUEUE_SIZE", 5)
    app = App(Config(), None, ".")
    events = logs._events(app, 0)
    assert b"event: config" in next(events)
    started = time.monotonic()
    for index in range(50):
        app.log.record({"method": "POST", "path": "/x", "status": 200, "model": str(index)})
    assert time.monotonic() - started < 1.0
    chunks = list(events)  # what was queued, then the error that makes the client reconnect
    assert len(chunks) == 6 and chunks[-1].startswith(b"event: error")
    assert not app.log._subscribers  # a finished stream unsubscribes


def test_closing_the_stream_unsubscribes():
    app = App(Config(), None, ".")
    events = logs._events(app, 0)
    next(events)
    events.close()  # what the server does when the client went away
    assert not app.log._subscribers


def test_the_stream_ends_when_the_daemon_stops():
    app = App(Config(), None, ".")
    events = logs._events(app, 0)
    next(events)
    threading.Timer(0.2, app.stopping.set).start()
    assert list(events) == []


def test_inspect_is_404_with_capture_off_and_400_for_a_bad_id(api):
    reply = api.get("/api/logs/1/inspect")
    assert reply.status == 404 and "capture" in reply.json["error"]
    assert api.get("/api/logs/abc/inspect").status == 400


def test_inspect_returns_the_captured_exchange_when_capture_is_on(make_gateway, upstream):
    gateway = make_gateway("downstreams:\n  - {id: up, name: Up, base_url: '%s', api_formats: [openai], "
                           "output_model_ids: [m1]}\n" % upstream.url)
    api = Api(gateway.url)
    api.put("/api/config", {"capture_payloads": True})
    upstream.enqueue(200, {"id": "c", "object": "chat.completion", "model": "m1", "choices": []})
    request = urllib.request.Request(gateway.url + "/v1/chat/completions", json.dumps(
        {"model": "m1", "messages": [{"role": "user", "content": "secret question"}]}).encode(),
        {"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()
    entry = api.get("/api/logs").json[0]
    record = api.get("/api/logs/%d/inspect" % entry["id"]).json
    assert "secret question" in record["request"]["body"]
