"""/api/logs: recent request-log entries, the live SSE stream, and captured payloads.

The stream sends up to 50 recent entries newest first, then `event: config` (whose `id:` is the
newest entry sent, so a browser's Last-Event-ID is the highest id seen), then live entries and a
heartbeat comment every 15 s. A reconnect with Last-Event-ID gets only newer entries. Each
subscriber has a bounded queue filled without blocking: one that cannot keep up is dropped
(told with `event: error`, so it reconnects) and never slows the gateway.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any, Dict, Iterator, List, Optional

from tresor.errors import ClientError
from tresor.httpio import Request, Response

__all__ = ["recent", "stream", "inspect", "HEARTBEAT_S", "QUEUE_SIZE"]

HEARTBEAT_S = 15.0
QUEUE_SIZE = 2000
BACKLOG = 50
_POLL_S = 0.5  # how often a waiting stream notices daemon shutdown


def recent(ctx, request: Request, params: dict) -> List[Dict[str, Any]]:
    """GET /api/logs: up to 100 entries, newest first."""
    return ctx.log.recent(100)


def _event(name: str, data: Any, event_id: Optional[int] = None) -> bytes:
    head = "id: %d\n" % event_id if event_id is not None else ""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return ("%sevent: %s\ndata: %s\n\n" % (head, name, text)).encode("utf-8")


def _last_event_id(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params().get("last_event_id") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


class _Subscriber:
    """A bounded queue of entries for one stream; `is_dropped` once it overflowed."""

    def __init__(self):
        self.queue: "queue.Queue" = queue.Queue(QUEUE_SIZE)
        self.is_dropped = threading.Event()

    def notify(self, entry: Dict[str, Any]) -> None:
        # Runs on the gateway thread that logged: must never block or raise.
        try:
            self.queue.put_nowait(entry)
        except queue.Full:
            self.is_dropped.set()


def _events(ctx, after: int) -> Iterator[bytes]:
    subscriber = _Subscriber()
    unsubscribe = ctx.log.subscribe(subscriber.notify)
    try:
        stored = ctx.log.recent(BACKLOG)
        if not stored or after > stored[0].get("id", 0):
            after = 0  # an id we never gave out: the daemon restarted and ids began again at 1
        backlog = [e for e in stored if e.get("id", 0) > after]
        for entry in backlog:
            yield _event("log", entry, entry.get("id"))
        newest = max([after] + [e.get("id", 0) for e in backlog])
        yield _event("config", {"level": ctx.log.level}, newest or None)
        yield from _live(ctx, subscriber, newest)
    finally:
        unsubscribe()


def _live(ctx, subscriber: _Subscriber, newest: int) -> Iterator[bytes]:
    beat_at = time.monotonic() + HEARTBEAT_S
    while not ctx.stopping.is_set():
        try:
            entry = subscriber.queue.get(timeout=min(_POLL_S, max(0.0, beat_at - time.monotonic())))
        except queue.Empty:
            if subscriber.is_dropped.is_set():  # what was queued has been sent; the rest is lost
                yield _event("error", {"error": "this log stream fell behind and was dropped; reconnect"})
                return
            if time.monotonic() >= beat_at:
                beat_at = time.monotonic() + HEARTBEAT_S
                yield b": heartbeat\n\n"
            continue
        if entry.get("id", 0) > newest:  # already sent in the backlog when logged during the snapshot
            newest = entry["id"]
            yield _event("log", entry, newest)


def stream(ctx, request: Request, params: dict) -> Response:
    """GET /api/logs/stream: text/event-stream (see the module docstring)."""
    headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
               ("X-Accel-Buffering", "no")]  # nginx must not buffer a live stream
    return Response(200, headers, _events(ctx, _last_event_id(request)))


def inspect(ctx, request: Request, params: dict) -> Dict[str, Any]:
    """GET /api/logs/{id}/inspect: the captured request/response of one entry; 404 unless captured.

    Reads `ctx.payloads.get(entry_id)`, the gateway's bounded capture store.
    """
    try:
        entry_id = int(params["id"])
    except ValueError:
        raise ClientError("invalid log id %r" % params["id"], 400) from None
    payloads = getattr(ctx, "payloads", None)
    record = payloads.get(entry_id) if payloads is not None else None
    if record is None:
        why = ("it was not captured, or was evicted" if ctx.config.capture_payloads
               else "payload capture is off (set capture_payloads)")
        raise ClientError("no payload captured for log %d: %s" % (entry_id, why), 404)
    return record
