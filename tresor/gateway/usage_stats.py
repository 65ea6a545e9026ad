"""Usage statistics: finished requests' token counts, buffered in memory and written in batches.

One entry per finished request with usage (hour bucket of its start, downstream, resolved model,
client IP, tokens). Flushed every `interval_s` seconds and at shutdown through the store's single
writer (fire-and-forget: a stats failure is logged by the store, never fails a request).
"""
from __future__ import annotations

import threading
from typing import Any, Dict, List


class StatsRecorder:
    """Buffers stats entries; `flush()` hands the batch to `store.submit(stats.record, batch)`."""

    def __init__(self, store, interval_s: float = 60.0):
        self._store = store
        self._buffer: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="tresor-stats", daemon=True)
        self._thread.start()

    def add(self, started_ms: int, downstream_id: str, model: str, client_ip: str, usage: Dict[str, int]) -> None:
        """Queue one finished request. IR input tokens include cache reads and writes; the stored
        `input_tokens` does not (so cache_hit_rate = cache_read / (input + cache_read), reference §5.3)."""
        from tresor.store import stats

        cache_read = usage.get("cache_read_tokens") or 0
        cache_creation = usage.get("cache_creation_tokens") or 0
        entry = {"bucket": stats.bucket_at(started_ms), "downstream_id": downstream_id, "model": model,
                 "client_ip": client_ip, "cache_read": cache_read, "cache_creation": cache_creation,
                 "input_tokens": max(0, (usage.get("input_tokens") or 0) - cache_read - cache_creation),
                 "output_tokens": usage.get("output_tokens") or 0,
                 "reasoning_tokens": usage.get("reasoning_tokens") or 0}
        with self._lock:
            self._buffer.append(entry)

    def flush(self) -> int:
        """Submit the buffered entries for writing; returns how many were submitted."""
        from tresor.store import stats

        with self._lock:
            batch, self._buffer = self._buffer, []
        if batch:
            self._store.submit(stats.record, batch)
        return len(batch)

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.flush()

    def close(self) -> None:
        """Stop the timer and flush what is buffered (idempotent)."""
        self._stop.set()
        self.flush()
