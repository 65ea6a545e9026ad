"""Usage statistics: finished requests' token counts, summed in memory and written in batches.

Requests are summed per (hour bucket of their start, downstream, resolved model, client IP) between
flushes, so a flush writes one row per key instead of one per request. Flushed every `interval_s`
seconds and at shutdown through the store's single writer (fire-and-forget: a stats failure is
logged by the store, never fails a request).
"""
from __future__ import annotations

import threading
from typing import Dict, List, Tuple

_HOUR_MS = 3600 * 1000
# Per-key sums, in this order; the last two are the request and cache-hit counts.
_FIELDS = ("input_tokens", "output_tokens", "cache_creation", "cache_read", "reasoning_tokens",
           "request_count", "cache_hit_count")


class StatsRecorder:
    """Sums finished requests per key; `flush()` hands the rows to `store.submit(stats.record, rows)`."""

    def __init__(self, store, interval_s: float = 60.0):
        self._store = store
        self._sums: Dict[Tuple[int, str, str, str], List[int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="tresor-stats", daemon=True)
        self._thread.start()

    def add(self, started_ms: int, downstream_id: str, model: str, client_ip: str, usage: Dict[str, int]) -> None:
        """Count one finished request. IR input tokens include cache reads and writes; the stored
        `input_tokens` does not (so cache_hit_rate = cache_read / (input + cache_read), reference §5.3)."""
        cache_read = usage.get("cache_read_tokens") or 0
        cache_creation = usage.get("cache_creation_tokens") or 0
        counts = (max(0, (usage.get("input_tokens") or 0) - cache_read - cache_creation),
                  usage.get("output_tokens") or 0, cache_creation, cache_read,
                  usage.get("reasoning_tokens") or 0, 1, 1 if cache_read > 0 else 0)
        key = (started_ms // _HOUR_MS, downstream_id, model, client_ip)
        with self._lock:
            sums = self._sums.get(key)
            if sums is None:
                self._sums[key] = list(counts)
            else:
                for index, value in enumerate(counts):
                    sums[index] += value

    def flush(self) -> int:
        """Submit the summed rows for writing; returns how many requests they cover."""
        from tresor.store import stats

        with self._lock:
            sums, self._sums = self._sums, {}
        rows = []
        for (hour, downstream_id, model, client_ip), counts in sums.items():
            row = dict(zip(_FIELDS, counts))
            row.update(bucket=stats.bucket_at(hour * _HOUR_MS), downstream_id=downstream_id, model=model,
                       client_ip=client_ip)
            rows.append(row)
        if rows:
            self._store.submit(stats.record, rows)
        return sum(row["request_count"] for row in rows)

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.flush()

    def close(self) -> None:
        """Stop the timer and flush what is buffered (idempotent)."""
        self._stop.set()
        self.flush()
