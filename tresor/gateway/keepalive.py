"""Keep-alive for translated streams: a ping to the client after each interval of upstream silence.

Anthropic clients expect `event: ping` during long silences (SPEC §3: every 15 s); a translated
downstream (OpenAI, Gemini) sends nothing while a model thinks. The stream's own generator runs
in a helper thread that feeds a small bounded queue (so a slow client still slows the upstream
read), and the client's thread emits `ping` whenever the queue stays empty for `interval` seconds.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, Optional

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


def with_pings(chunks: Iterator[bytes], ping: bytes, interval: float,
               abort: Optional[Callable[[], None]] = None) -> Iterator[bytes]:
    """Yield `chunks` (produced in a helper thread), plus `ping` after every `interval` s of silence.

    When the consumer stops early (client gone), `abort()` is called to wake the producer if it
    is blocked reading the upstream, and the producer's remaining output is discarded.
    """
    items: "queue.Queue" = queue.Queue(maxsize=64)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def pump() -> None:
        try:
            for chunk in chunks:
                put(chunk)
                if stop.is_set():
                    break
        except BaseException as e:  # re-raised in the consumer's thread
            put(_Raised(e))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            put(_DONE)

    threading.Thread(target=pump, name="tresor-stream-pump", daemon=True).start()
    try:
        while True:
            try:
                item = items.get(timeout=interval)
            except queue.Empty:
                yield ping
                continue
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        if abort is not None:
            abort()
