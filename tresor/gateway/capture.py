"""Captured payloads for the log inspector: the last 100 requests' bodies, only when capture is on.

Bounded in count (FIFO eviction) and in size (a response is cut at 1 MiB and marked truncated).
Bodies live only in memory and only while `capture_payloads` is on; they are never logged.
"""
from __future__ import annotations

import collections
import datetime
import threading
from typing import Any, Dict, Optional

RESPONSE_CAP = 1 << 20


class PayloadStore:
    """Thread-safe FIFO of inspector records keyed by request-log id."""

    def __init__(self, capacity: int = 100):
        self._records: "collections.OrderedDict[int, Dict[str, Any]]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def put(self, entry: Dict[str, Any], request: Dict[str, Any], response: Dict[str, Any]) -> None:
        """Keep the inspector record for log `entry` (its id, path, model, status …)."""
        record = {"id": entry["id"], "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        for key in ("path", "method", "model", "resolved_model", "downstream_id", "downstream_name", "client_ip",
                    "status", "request_format", "downstream_format"):
            if entry.get(key) not in (None, ""):
                record[key] = entry[key]
        record["request"] = request
        record["response"] = response
        with self._lock:
            self._records[entry["id"]] = record
            while len(self._records) > self.capacity:
                self._records.popitem(last=False)

    def get(self, entry_id: int) -> Optional[Dict[str, Any]]:
        """The record for log id `entry_id`, or None when never captured or evicted."""
        with self._lock:
            return self._records.get(entry_id)


class ResponseTee:
    """Collects up to RESPONSE_CAP bytes of a response as it is relayed."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.is_truncated = False

    def add(self, data: bytes) -> None:
        room = RESPONSE_CAP - self.size
        if room <= 0:
            self.is_truncated = self.is_truncated or bool(data)
            return
        if len(data) > room:
            data, self.is_truncated = data[:room], True
        self.parts.append(data)
        self.size += len(data)

    def text(self) -> str:
        return b"".join(self.parts).decode("utf-8", "replace")
