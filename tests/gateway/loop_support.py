"""Shared by the event-loop tests: a byte-scripted upstream, a raw client, the in-process gateway.

A request runs on the loop when it is an ordinary POST to an LLM path and an idle upstream
connection is pooled; the first request to a provider (nothing pooled yet) goes to a worker.
`RawUpstream` answers with scripted bytes, split as a test says, so wire-level cases are exact.
"""
import json
import socket
import threading

import pytest

from tests.support import Gateway, read_message

CHAT = json.dumps({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}).encode()
STREAM = json.dumps({"model": "gpt-x", "stream": True, "messages": []}).encode()
REPLY = json.dumps({"id": "c1", "object": "chat.completion", "model": "gpt-x",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                                 "finish_reason": "stop"}]}).encode()
EVENTS = [b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"he"}}]}\n\n',
          b': keep-alive comment\n\n',
          b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"llo"}}]}\r\n\r\n',
          b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n',
          b"data: [DONE]\n\n"]


def json_head(body: bytes, extra: str = "") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (len(body), extra.encode()) + body)


def chunked(parts) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


class RawUpstream:
    """A provider on loopback that answers each request with the next scripted action.

    An action is a callable(conn) that writes whatever it likes; it returns False to close the
    connection. `connections` counts accepted connections, `requests` the requests read.
    """

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.actions = []
        self.connections = 0
        self.requests = []
        self.closed = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(10)
        buf = b""
        try:
            for _ in range(1000):
                message = read_message(conn, buf)
                if message is None:
                    return
                head, body, buf = message
                self.requests.append(head + b"\r\n\r\n" + body)
                with self._lock:
                    action = self.actions.pop(0) if self.actions else (lambda c: c.sendall(json_head(REPLY)))
                if action(conn) is False:
                    return
        except OSError:
            pass
        finally:
            conn.close()
            self.closed.set()

    def close(self):
        self.listener.close()


@pytest.fixture
def raw():
    upstream = RawUpstream()
    yield upstream
    upstream.close()


@pytest.fixture
def gateway(tmp_path, raw):
    made = Gateway("stream_idle_timeout: 2\ndownstreams:\n  - id: oa\n    base_url: %s\n"
                   "    api_formats: [openai]\n    output_model_ids: [gpt-x]\n" % raw.url, tmp_path)
    submitted = []
    submit = made.server.workers.submit
    made.server.workers.submit = lambda *a: (submitted.append(a[0].__name__), submit(*a))
    made.submitted = submitted
    yield made
    made.close()


class Client:
    """A raw client socket that reads responses exactly (bytes after one response are kept)."""

    def __init__(self, gateway):
        self.sock = socket.create_connection(("127.0.0.1", gateway.server.server_address[1]), timeout=5)
        self.buf = b""

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        data = self.sock.recv(65536)
        assert data, "connection closed mid-response: %r" % self.buf[:200]
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_response(self) -> tuple:
        """(head bytes, body bytes) of one response: Content-Length or chunked (decoded)."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lower = head.lower()
        if b"content-length:" in lower:
            return head, self._take(int(lower.split(b"content-length:")[1].split(b"\r\n")[0]))
        body = b""
        for _ in range(100000):
            size = int(self._line(), 16)
            body += self._take(size)
            self._take(2)
            if size == 0:
                return head, body
        raise AssertionError("unterminated chunked body")

    def close(self) -> None:
        self.sock.close()


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        path.encode(), len(body), extra, body)


def warm(gateway, raw):
    """One request through a worker, so the next ones find a pooled upstream connection."""
    sock = Client(gateway)
    sock.sendall(post("/v1/chat/completions", CHAT))
    head, _ = sock.read_response()
    sock.close()
    assert head.startswith(b"HTTP/1.1 200")
    assert gateway.submitted == ["_forward"]
    gateway.submitted.clear()


