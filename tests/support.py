"""Test helpers: config files in tmp dirs and a real daemon subprocess on an ephemeral port."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# One downstream per format, all on one stub provider; `{url}` is the stub's base URL (used with .format).
FOUR_FORMAT_DOWNSTREAMS = """\
downstreams:
  - id: oa
    base_url: {url}
    api_key: sk-upstream-oa
    api_formats: [openai]
    output_model_ids: [gpt-x]
  - id: resp
    base_url: {url}/v1
    api_key: sk-upstream-resp
    api_formats: [openai_responses]
    output_model_ids: [resp-x]
  - id: ant
    base_url: {url}
    api_key: sk-upstream-ant
    api_formats: [anthropic]
    output_model_ids: [claude-x]
  - id: gem
    base_url: {url}
    api_key: upstream-gem
    api_formats: [gemini]
    output_model_ids: [gemini-x]
"""


def read_message(sock, buf: bytes = b"") -> Optional[tuple]:
    """Read one HTTP message with a Content-Length body (or none) from `sock`, starting with the
    bytes `buf` already read: (head, body, bytes read past it), or None when the peer closed first."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            return None
        rest += data
    return head, rest[:length], rest[length:]


def write_config(directory, text: str, name: str = "config.yaml") -> str:
    """Write `text` to directory/name and return the path."""
    path = os.path.join(str(directory), name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def basic_config(directory, extra: str = "") -> str:
    """A config listening on an ephemeral loopback port with its DB inside `directory`."""
    return write_config(directory, "bind_addr: 127.0.0.1:0\ndb_path: %s\n%s"
                        % (os.path.join(str(directory), "tresor.db"), extra))


class Daemon:
    """`python <launcher> run --config CFG` as a subprocess; `url` is known once it listens."""

    def __init__(self, config_path: str, launcher: Optional[List[str]] = None, cwd: Optional[str] = None):
        self.config_path = config_path
        self.launcher = launcher or [sys.executable, os.path.join(ROOT, "tresor.py")]
        self.cwd = cwd or os.path.dirname(config_path)
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""
        self.stderr_lines: List[str] = []
        self.started_s = 0.0

    def start(self, timeout: float = 10.0) -> "Daemon":
        env = dict(os.environ, HOME=self.cwd, PYTHONDONTWRITEBYTECODE="1")
        self.started_s = time.monotonic()
        self.proc = subprocess.Popen(self.launcher + ["run", "--config", self.config_path], cwd=self.cwd,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        if not ready.wait(timeout) or not self.url:
            self.kill()
            raise AssertionError("daemon did not start:\n" + "".join(self.stderr_lines))
        return self

    def _pump(self, ready: threading.Event) -> None:
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                self.url = match.group(1)
                ready.set()
        ready.set()

    def get_json(self, path: str, timeout: float = 5.0):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())

    def stop(self, sig=signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> "Daemon":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()


def run_cli(args: List[str], cwd: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Run `python tresor.py <args>` to completion with HOME=cwd."""
    env = dict(os.environ, HOME=cwd, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, os.path.join(ROOT, "tresor.py")] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


class FakeUpstream:
    """A scripted provider on 127.0.0.1:<port> (ThreadingHTTPServer in a thread), like llm's MockModel.

    `enqueue(status, body, ...)` queues the next answer (FIFO, any path); `body` is bytes / a dict
    (JSON) / a list of SSE chunks (bytes or str, sent one by one with a flush, chunked). Every
    request received is kept in `requests` as dicts {method, path, headers (lower-case), body}.
    """

    def __init__(self):
        import http.server
        import queue

        self.requests: List[dict] = []
        self.answers: "queue.Queue" = queue.Queue()
        self.gate = threading.Event()
        self.gate.set()
        self.disconnected = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # stream chunks leave at once, like a real provider

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append({"method": self.command, "path": self.path, "body": body,
                                       "headers": {k.lower(): v for k, v in self.headers.items()}})
                try:
                    status, payload, headers, hold_after, interval = outer.answers.get_nowait()
                except Exception:
                    status, payload, headers, hold_after, interval = (
                        500, {"error": {"message": "no answer queued"}}, [], None, 0.0)
                outer._send(self, status, payload, headers, hold_after, interval)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        import http.server as hs
        self.server = hs.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def enqueue(self, status=200, body=b"{}", headers=(), hold_after: Optional[int] = None,
                interval: float = 0.0) -> None:
        """Queue one answer. With `hold_after=n`, a stream waits on `self.gate` after n chunks;
        `interval` sleeps between stream chunks."""
        self.answers.put((status, body, list(headers), hold_after, interval))

    def _send(self, handler, status, payload, headers, hold_after, interval) -> None:
        if isinstance(payload, list):
            handler.send_response(status)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Transfer-Encoding", "chunked")
            for k, v in headers:
                handler.send_header(k, v)
            handler.end_headers()
            try:
                for i, chunk in enumerate(payload):
                    if hold_after is not None and i == hold_after:
                        self.gate.wait(10)
                    if interval and i:
                        time.sleep(interval)
                    data = chunk.encode() if isinstance(chunk, str) else chunk
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    handler.wfile.flush()
                handler.wfile.write(b"0\r\n\r\n")
                handler.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.disconnected.set()
            return
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        if not any(k.lower() == "content-type" for k, _ in headers):
            handler.send_header("Content-Type", "application/json")
        for k, v in headers:
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class Gateway:
    """The real App behind the real TCP server on port 0, in this process (for SDK and thread tests)."""

    def __init__(self, config_text: str, directory):
        from tresor import app as app_module, config as config_io
        from tresor.gateway import server as srv

        path = write_config(directory, "bind_addr: 127.0.0.1:0\ndb_path: %s\n%s"
                            % (os.path.join(str(directory), "gw.db"), config_text), "gateway.yaml")
        self.app = app_module.build(config_io.load(path), str(directory))
        self.tracker = srv.ConnectionTracker()
        self.server = srv.TCPServer(("127.0.0.1", 0), self.app, self.tracker)
        srv.start(self.server)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self) -> None:
        from tresor.gateway import server as srv

        self.app.stopping.set()
        srv.stop([self.server], self.tracker, 2.0, None)
        self.app.close()
