"""Watching streams that worker threads write: keep-alive pings, and clients that went away.

A thread that writes a stream is blocked reading its upstream most of the time, so it can neither
send a ping nor notice that its client left. One shared clock thread (`CLOCK`) does both for
every watched stream:

* Anthropic clients expect `event: ping` during long silences (SPEC §3: every 15 s); a translated
  downstream (OpenAI, Gemini) sends nothing while a model thinks. The clock writes a ping into a
  stream whose last write is `interval` seconds old.
* A client that closed its connection is seen on its socket (poll: hang-up or error) within
  `HANGUP_CHECK_S`; the clock calls the stream's `abort()`, which shuts the upstream socket so the
  writer wakes, stops, and the provider stops generating.

No thread per stream and no queue between threads: chunks leave from the thread that produced them.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from typing import Callable, Iterator, Optional

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # Windows has none: a blocking send, bounded by the timeout
# POLLRDHUP (Linux) reports a peer's FIN; elsewhere only a reset or full hang-up is seen.
_HANGUP = getattr(select, "POLLRDHUP", 0) | getattr(select, "POLLHUP", 0) | getattr(select, "POLLERR", 0)
HANGUP_CHECK_S = 0.5


class StreamBody:
    """A stream body the writer registers with CLOCK while it writes it.

    Iterates like the body it wraps; close() closes it. `abort()` (thread-safe, from the upstream
    response) wakes a writer blocked on the upstream. `ping` / `interval`: write `ping` after every
    `interval` seconds without output (None: no pings).
    """

    def __init__(self, body: Iterator[bytes], abort: Callable[[], None], ping: Optional[bytes] = None,
                 interval: float = 15.0):
        self._body, self.abort, self.ping, self.interval = iter(body), abort, ping, interval

    def __iter__(self) -> "StreamBody":
        return self

    def __next__(self) -> bytes:
        return next(self._body)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


class WatchedWriter:
    """Writes a chunked stream's frames to `sock` under one lock shared with the clock's pings."""

    def __init__(self, sock, write, body: StreamBody):
        self._sock, self._write, self._abort = sock, write, body.abort
        self._frame = b"%x\r\n%s\r\n" % (len(body.ping), body.ping) if body.ping else None
        self.interval = body.interval if body.ping else None
        self.lock = threading.Lock()
        self.last = time.monotonic()
        self.is_gone = False

    def write(self, data: bytes) -> None:
        with self.lock:
            self._write(data)
            self.last = time.monotonic()

    def close(self) -> None:
        """The stream is over (writer thread): no ping or abort may touch the connection after this,
        which may already carry the next response."""
        with self.lock:
            self.is_gone = True

    def next_due(self, now: float) -> float:
        """When the clock should look at this stream again (never in the past: a ping that could
        not be written, because the stream was writing or the send failed, is retried later)."""
        check = now + HANGUP_CHECK_S
        if self.interval is None:
            return check
        ping = self.last + self.interval
        return min(check, ping if ping > now else now + min(self.interval, HANGUP_CHECK_S))

    def check(self, now: float) -> None:
        """Clock thread only: abort a stream whose client hung up; ping a quiet one."""
        if self.is_gone or not self.lock.acquire(blocking=False):
            return  # over, or writing right now (a gone client fails that write)
        try:
            if not self.is_gone and self._has_hung_up():
                self.is_gone = True
                self._abort()
                return
        finally:
            self.lock.release()
        if self.interval is not None and now - self.last >= self.interval:
            self.ping_if_quiet(now)

    def ping_if_quiet(self, now: float) -> None:
        """Write one ping frame if nothing was written for `interval` s.

        Never waits for the stream's own writes (it is writing: no ping needed). A client that
        cannot take the few bytes of a ping after a whole interval of silence is not reading
        any more; its socket is shut down, which ends the stream's next write.
        """
        if now - self.last < self.interval or not self.lock.acquire(blocking=False):
            return
        try:
            if self.is_gone:
                return
            sent = self._sock.send(self._frame, _DONTWAIT)
            if sent != len(self._frame):
                self._shutdown()
            self.last = now
        except BlockingIOError:
            self._shutdown()
        except OSError:
            pass  # the client is gone; the stream's own write reports it
        finally:
            self.lock.release()

    def _has_hung_up(self) -> bool:
        if not _HANGUP or not hasattr(select, "poll"):
            return False
        try:
            poller = select.poll()
            poller.register(self._sock, _HANGUP)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True  # the socket is closed

    def _shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class StreamClock:
    """One daemon thread that checks every watched stream when due; it runs only while at least
    one stream is watched."""

    def __init__(self):
        self._cond = threading.Condition()
        self._writers: set = set()
        self._thread: Optional[threading.Thread] = None

    def watch(self, writer: WatchedWriter) -> None:
        with self._cond:
            self._writers.add(writer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tresor-stream-clock", daemon=True)
                self._thread.start()
            self._cond.notify()

    def unwatch(self, writer: WatchedWriter) -> None:
        with self._cond:
            self._writers.discard(writer)
            self._cond.notify()

    def _run(self) -> None:
        due_at = {}
        while True:
            with self._cond:
                if not self._writers:
                    self._thread = None
                    return
                now = time.monotonic()
                for writer in self._writers:
                    due_at.setdefault(writer, writer.next_due(now))
                wake = min(due_at[w] for w in self._writers)
                if wake > now:
                    self._cond.wait(wake - now)
                    continue
                due = [w for w in self._writers if due_at[w] <= now]
                for writer in list(due_at):
                    if writer not in self._writers:
                        del due_at[writer]
            now = time.monotonic()
            for writer in due:
                writer.check(now)
                due_at[writer] = writer.next_due(now)


CLOCK = StreamClock()
