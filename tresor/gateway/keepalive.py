"""Keep-alive for translated streams: a ping to the client after each interval without output.

Anthropic clients expect `event: ping` during long silences (SPEC §3: every 15 s); a translated
downstream (OpenAI, Gemini) sends nothing while a model thinks. The stream's thread keeps
writing its chunks as they come; one shared clock thread (`CLOCK`) writes a ping into any stream
whose last write is `interval` seconds old. No thread per stream and no queue between threads:
the stream's chunks leave from the thread that produced them.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Iterator, Optional

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)  # Windows has none: a blocking send, bounded by the timeout


class Pinged:
    """A stream body that wants `ping` written after every `interval` seconds without output.

    Iterates like the body it wraps; close() closes it. The server's writer sees `ping` and
    `interval` and registers a PingedWriter with CLOCK for as long as it writes the stream.
    """

    def __init__(self, body: Iterator[bytes], ping: bytes, interval: float):
        self._body, self.ping, self.interval = iter(body), ping, interval

    def __iter__(self) -> "Pinged":
        return self

    def __next__(self) -> bytes:
        return next(self._body)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


class PingedWriter:
    """Writes a chunked stream's frames to `sock` under one lock shared with the clock's pings."""

    def __init__(self, sock, write, ping: bytes, interval: float):
        self._sock, self._write = sock, write
        self._frame = b"%x\r\n%s\r\n" % (len(ping), ping)
        self.interval = interval
        self.lock = threading.Lock()
        self.last = time.monotonic()

    def write(self, data: bytes) -> None:
        with self.lock:
            self._write(data)
            self.last = time.monotonic()

    def ping_if_quiet(self, now: float) -> None:
        """Write one ping frame if nothing was written for `interval` s (clock thread only).

        Never waits for the stream's own writes (it is writing: no ping needed). A client that
        cannot take the few bytes of a ping after a whole interval of silence is not reading
        any more; its socket is shut down, which ends the stream's next write.
        """
        if now - self.last < self.interval or not self.lock.acquire(blocking=False):
            return
        try:
            sent = self._sock.send(self._frame, _DONTWAIT)
            if sent != len(self._frame):
                self._sock.shutdown(socket.SHUT_RDWR)
            self.last = now
        except BlockingIOError:
            self._shutdown()
        except OSError:
            pass  # the client is gone; the stream's own write reports it
        finally:
            self.lock.release()

    def _shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class PingClock:
    """One daemon thread that pings every watched PingedWriter when due; it runs only while at
    least one stream is watched."""

    def __init__(self):
        self._cond = threading.Condition()
        self._writers: set = set()
        self._thread: Optional[threading.Thread] = None

    def watch(self, writer: PingedWriter) -> None:
        with self._cond:
            self._writers.add(writer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tresor-ping-clock", daemon=True)
                self._thread.start()
            self._cond.notify()

    def unwatch(self, writer: PingedWriter) -> None:
        with self._cond:
            self._writers.discard(writer)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._writers:
                    self._thread = None
                    return
                now = time.monotonic()
                due = min(w.last + w.interval for w in self._writers)
                if due > now:
                    self._cond.wait(due - now)
                    continue
                writers = list(self._writers)
            now = time.monotonic()
            for writer in writers:
                writer.ping_if_quiet(now)


CLOCK = PingClock()
