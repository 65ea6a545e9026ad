"""Shared helpers for the robustness campaign: per-format requests and error checks, a raw HTTP
client, process resource readings from /proc, an upstream that misbehaves at the socket level, and
a daemon with the four downstreams.

Loopback only; every wait here is bounded by a timeout.
"""
import http.client
import json
import os
import socket
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from tests.clients import canned
from tests.support import FOUR_FORMAT_DOWNSTREAMS, read_message

FORMATS = ("openai", "openai_responses", "anthropic", "gemini")
MODEL = {"openai": "gpt-x", "openai_responses": "resp-x", "anthropic": "claude-x", "gemini": "gemini-x"}

DOWNSTREAMS = FOUR_FORMAT_DOWNSTREAMS

UPSTREAM_STREAM = {"openai": canned.OPENAI_STREAM, "openai_responses": canned.responses_stream(),
                   "anthropic": canned.anthropic_stream(), "gemini": canned.GEMINI_STREAM}
UPSTREAM_TEXT = {"openai": canned.OPENAI_TEXT, "openai_responses": canned.RESPONSES_TEXT,
                 "anthropic": canned.ANTHROPIC_TEXT, "gemini": canned.GEMINI_TEXT}
# A first stream event that carries content, then the rest (for "error after content" cases).
CONTENT_EVENT = {"openai": canned.OPENAI_STREAM[:2], "openai_responses": canned.responses_stream()[:5],
                 "anthropic": canned.anthropic_stream()[:3], "gemini": canned.GEMINI_STREAM[:1]}


def client_request(client_format: str, model: str, stream: bool) -> Tuple[str, dict]:
    """(path, body) of a minimal generation request in `client_format` for `model`."""
    if client_format == "openai":
        return "/v1/chat/completions", {"model": model, "stream": stream,
                                        "messages": [{"role": "user", "content": "hi"}]}
    if client_format == "openai_responses":
        return "/v1/responses", {"model": model, "stream": stream, "input": "hi"}
    if client_format == "anthropic":
        return "/v1/messages", {"model": model, "stream": stream, "max_tokens": 64,
                                "messages": [{"role": "user", "content": "hi"}]}
    action = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return "/v1beta/models/%s:%s" % (model, action), {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


class Reply:
    """One complete HTTP answer: status, lower-case header dict, raw header list, body bytes."""

    def __init__(self, status: int, headers: List[Tuple[str, str]], body: bytes):
        self.status = status
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Reply %d %r>" % (self.status, self.body[:300])


def host_port(url: str) -> Tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def call(url: str, method: str, path: str, body=None, headers: Optional[Dict[str, str]] = None,
         timeout: float = 10.0) -> Reply:
    """One request on a fresh connection; `body` is bytes or a JSON-able value."""
    host, port = host_port(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if data is not None else {}
    sent.update(headers or {})
    try:
        conn.request(method, path, data, sent)
        resp = conn.getresponse()
        return Reply(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def generate(url: str, client_format: str, model: Optional[str] = None, stream: bool = False,
             headers: Optional[Dict[str, str]] = None, timeout: float = 10.0) -> Reply:
    """Send the minimal generation request of `client_format` and read the whole answer."""
    path, body = client_request(client_format, model or MODEL[client_format], stream)
    return call(url, "POST", path, body, headers, timeout)


def sse_payloads(text: str) -> List[Tuple[Optional[str], str]]:
    """(event name, data) of each event in an SSE text."""
    events, name, data = [], None, []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    if data:
        events.append((name, "\n".join(data)))
    return events


def _json(data: str):
    try:
        return json.loads(data)
    except ValueError:
        return None


def stream_error_event(client_format: str, text: str) -> Optional[dict]:
    """The client format's in-stream error payload found in `text`, or None.

    anthropic: `event: error` + {"type": "error", "error": {...}}; openai and gemini: `data: {"error": ...}`;
    openai_responses: `event: error` (or `response.failed`).
    """
    for name, data in sse_payloads(text):
        obj = _json(data)
        if not isinstance(obj, dict):
            continue
        if client_format == "anthropic" and name == "error" and obj.get("type") == "error" \
                and isinstance(obj.get("error"), dict):
            return obj
        if client_format in ("openai", "gemini") and name is None and isinstance(obj.get("error"), dict):
            return obj
        if client_format == "openai_responses" and name in ("error", "response.failed"):
            return obj
    return None


def is_error_shape(client_format: str, obj) -> bool:
    """True when `obj` is the client format's non-stream error envelope."""
    if not isinstance(obj, dict):
        return False
    if client_format == "anthropic":
        inner = obj.get("error")
        return obj.get("type") == "error" and isinstance(inner, dict) and isinstance(inner.get("message"), str)
    inner = obj.get("error")
    if not isinstance(inner, dict) or not isinstance(inner.get("message"), str):
        return False
    if client_format == "gemini":
        return isinstance(inner.get("code"), int) and isinstance(inner.get("status"), str)
    return "type" in inner


def proc_reading(pid: int) -> Dict[str, int]:
    """Threads, open fds and VmRSS (KiB) of process `pid`, from /proc."""
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Threads", "VmRSS"):
                values[key] = int(rest.split()[0])
    return {"threads": values["Threads"], "rss_kb": values["VmRSS"], "fds": len(os.listdir("/proc/%d/fd" % pid))}


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class RawUpstream:
    """A provider stub at the socket level: each connection reads one request, then runs `script`
    with the socket (send bytes, sleep, reset...). Threads are daemons; `close()` stops accepting."""

    def __init__(self, script: Callable[[socket.socket], None]):
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if read_message(conn) is not None:
                self.script(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


def reset(conn: socket.socket) -> None:
    """Close `conn` with a TCP RST (SO_LINGER 0) instead of an orderly FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


def sse_head(extra: bytes = b"") -> bytes:
    """Response head of a chunked SSE answer."""
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n" + extra
            + b"\r\n")


def chunk(data) -> bytes:
    """One HTTP/1.1 chunk carrying `data` (str or bytes)."""
    raw = data.encode() if isinstance(data, str) else data
    return b"%x\r\n%s\r\n" % (len(raw), raw)


def start_daemon(directory, extra: str, upstream_url: str) -> "Daemon":
    """A real daemon (subprocess, port 0) with the four downstreams on `upstream_url` plus `extra`."""
    from tests.support import Daemon, basic_config

    return Daemon(basic_config(directory, DOWNSTREAMS.format(url=upstream_url) + extra)).start()


def daemon_log(daemon) -> str:
    """Everything the daemon wrote to stderr so far."""
    return "".join(daemon.stderr_lines)


def assert_alive(daemon) -> None:
    """The daemon process runs and answers its health probe."""
    assert daemon.proc.poll() is None, daemon_log(daemon)[-3000:]
    assert call(daemon.url, "GET", "/api/health").status == 200


def tracebacks(daemon) -> List[str]:
    """Log lines of the daemon that start a Python traceback (a crash somewhere in a thread)."""
    return [line for line in daemon.stderr_lines if line.startswith("Traceback")]


def record(name: str, values: dict) -> None:
    """Append measured figures to $TRESOR_ROBUSTNESS_FIGURES (JSON lines) when set; for bench/robustness.md."""
    target = os.environ.get("TRESOR_ROBUSTNESS_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(values, name=name)) + "\n")


def watch_for_crashes(daemon):
    """Body of an autouse fixture (`yield from` it): after the test the daemon is up, no new traceback."""
    before = len(tracebacks(daemon))
    yield
    assert_alive(daemon)
    assert len(tracebacks(daemon)) == before, daemon_log(daemon)[-4000:]
