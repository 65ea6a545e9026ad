#!/usr/bin/env python3
"""Streaming stub upstream for the benchmark: an OpenAI Chat Completions server with fixed timing.

`POST …/v1/chat/completions` with `"stream": true` answers with `--events` SSE chunks (OpenAI
`chat.completion.chunk`), the first at once and each next one `--delay` seconds later, then
`data: [DONE]`, as HTTP/1.1 chunked transfer encoding. Under the path prefix `/hold` it streams
`--hold-events` chunks `--hold-delay` apart instead (long-lived streams for the concurrency test).
Without `"stream": true` it answers one canned `chat.completion`.

Each event is written with a single send and TCP_NODELAY, so timing is the stub's, not Nagle's
(see reference/clients.md §4). usage: python bench/stub_upstream.py --port P [--events 10] [--delay 0.02]
"""
import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANNED = json.dumps({
    "id": "chatcmpl-stream-stub", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-stream",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the stub."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
}, separators=(",", ":")).encode()


def chunk_event(index, last):
    """One SSE `data:` event carrying a chat.completion.chunk, framed as one HTTP chunk."""
    delta = {} if last else {"content": f"tok{index} "}
    if index == 0:
        delta["role"] = "assistant"
    body = {"id": "chatcmpl-stream-stub", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-stream",
            "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}]}
    return frame(b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n")


def frame(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timing = (10, 0.02)        # (events, delay) for ordinary streams
    hold_timing = (20, 0.25)   # for paths under /hold

    def log_message(self, fmt, *args):
        pass  # a log line per request would dominate the stub's own cost

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            wants_stream = bool(json.loads(body or b"{}").get("stream"))
        except ValueError:
            wants_stream = False
        if not wants_stream:
            head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(CANNED)}\r\n\r\n").encode()
            self.wfile.write(head + CANNED)
            return
        events, delay = self.hold_timing if self.path.startswith("/hold/") else self.timing
        self.stream(events, delay)

    def stream(self, events, delay):
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        start = time.monotonic()
        try:
            self.wfile.write(head + chunk_event(0, events == 1))
            for index in range(1, events):
                time.sleep(max(0.0, start + index * delay - time.monotonic()))
                self.wfile.write(chunk_event(index, index == events - 1))
            self.wfile.write(frame(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # client went away mid-stream


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--hold-events", type=int, default=20)
    parser.add_argument("--hold-delay", type=float, default=0.25)
    args = parser.parse_args(argv)
    StubHandler.timing = (max(1, args.events), args.delay)
    StubHandler.hold_timing = (max(1, args.hold_events), args.hold_delay)
    with StubServer(("127.0.0.1", args.port), StubHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
