"""One selector loop thread plus elastic worker threads: the server's scheduling core.

The loop runs callbacks when sockets are ready, checks deadlines on a short tick, and runs calls
posted from other threads. One thread doing every step of many requests avoids the hand-offs of
the global interpreter lock that thread-per-connection pays several times per request (the wait
order of those hand-offs is not fair, which made the 32-connection p99 tail; BENCHMARKS.md).
Work that blocks (admin API, translated streams, new upstream connections) goes to `Workers`.
"""
from __future__ import annotations

import collections
import logging
import queue
import selectors
import socket
import threading
import time
from typing import Any, Callable

log = logging.getLogger("tresor.server")

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class EventLoop:
    """Readiness callbacks, deadlines and cross-thread calls, run by one thread in run().

    Only `call_soon_threadsafe` and `stop` may be called from other threads. A registered
    callback gets the ready mask; an object passed to watch() has a `deadline` attribute
    (time.monotonic() seconds or None) and an `on_deadline()` method, checked every `tick_s`.
    """

    tick_s = 0.1

    def __init__(self):
        self._selector = selectors.DefaultSelector()
        self._calls: collections.deque = collections.deque()
        self._waker_r, self._waker_w = socket.socketpair()
        self._waker_r.setblocking(False)
        self._waker_w.setblocking(False)
        self._selector.register(self._waker_r, READ, self._drain_waker)
        self._watched: set = set()
        self._is_stopping = False
        self.thread = None

    def register(self, sock, events: int, callback: Callable[[int], None]) -> None:
        self._selector.register(sock, events, callback)

    def modify(self, sock, events: int, callback: Callable[[int], None]) -> None:
        self._selector.modify(sock, events, callback)

    def set_interest(self, sock, old: int, new: int, callback: Callable[[int], None]) -> int:
        """Move `sock` from the `old` to the `new` event mask (0: not registered); returns `new`."""
        if new != old:
            if not new:
                self.unregister(sock)
            elif not old:
                self._selector.register(sock, new, callback)
            else:
                self._selector.modify(sock, new, callback)
        return new

    def unregister(self, sock) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def watch(self, item: Any) -> None:
        self._watched.add(item)

    def unwatch(self, item: Any) -> None:
        self._watched.discard(item)

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` on the loop thread after the current callbacks (loop thread only)."""
        self._calls.append((fn, args))

    def call_soon_threadsafe(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` on the loop thread soon (deque appends are atomic)."""
        self._calls.append((fn, args))
        try:
            self._waker_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # the waker is full (a wake-up is pending anyway) or closed (the loop ended)

    def stop(self) -> None:
        """Make run() return after the current iteration (any thread)."""
        self._is_stopping = True
        self.call_soon_threadsafe(lambda: None)

    def run(self) -> None:
        """Serve until stop(); then close the selector and the waker."""
        self.thread = threading.current_thread()
        select, calls = self._selector.select, self._calls
        next_tick = time.monotonic() + self.tick_s
        try:
            while not self._is_stopping:
                timeout = 0 if calls else max(0.0, next_tick - time.monotonic())
                for key, mask in select(timeout):
                    self._run_one(key.data, mask)
                while calls:
                    fn, args = calls.popleft()
                    self._run_one(fn, *args)
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + self.tick_s
                    self._expire(now)
        finally:
            self._selector.close()
            self._waker_r.close()
            self._waker_w.close()

    @staticmethod
    def _run_one(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # one connection's bug must not stop every other connection
            log.exception("unhandled error in the event loop")

    def _expire(self, now: float) -> None:
        due = [item for item in self._watched if item.deadline is not None and item.deadline <= now]
        for item in due:
            self._run_one(item.on_deadline)

    def _drain_waker(self, mask: int) -> None:
        try:
            while self._waker_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass


class Workers:
    """Elastic daemon worker threads: submit() runs a task on an idle worker or a new one, so a
    task never waits behind another (a long stream holds its worker). Idle workers exit after
    `idle_s`, so a burst of threads does not outlive the burst by more than that; under steady
    traffic a worker is reused long before."""

    def __init__(self, idle_s: float = 1.0, name: str = "tresor-worker"):
        self._tasks: "queue.SimpleQueue" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for a task, minus tasks queued for them
        self._idle_s = idle_s
        self._name = name

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                self._tasks.put((fn, args))
                return
        threading.Thread(target=self._work, args=((fn, args),), name=self._name, daemon=True).start()

    def _work(self, task) -> None:
        while True:
            fn, args = task
            try:
                fn(*args)
            except Exception:
                log.exception("unhandled error in a worker thread")
            task = None  # drop references before waiting
            with self._lock:
                self._idle += 1
            try:
                task = self._tasks.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    try:  # a task queued for this worker just as it timed out: run it
                        task = self._tasks.get_nowait()
                    except queue.Empty:
                        self._idle -= 1
                        return
