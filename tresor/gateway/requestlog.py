"""The in-memory request log: a bounded ring of entries plus live subscribers (admin SSE, later).

Entries are plain dicts (JSON-ready, reference §3.18 shape). Never holds request bodies or keys.
"""
from __future__ import annotations

import collections
import datetime
import threading
from typing import Any, Callable, Dict, List, Optional

LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


def level_of(entry: Dict[str, Any]) -> str:
    """Severity: explicit level, else error for an error label or status >= 500, warn for >= 400, else info."""
    if entry.get("level"):
        return entry["level"]
    status = entry.get("status") or 0
    if entry.get("error") or status >= 500:
        return "error"
    return "warn" if status >= 400 else "info"


class RequestLog:
    """Thread-safe ring of the last `capacity` entries at or above the configured level."""

    def __init__(self, capacity: int = 500, level: str = "info"):
        self._entries: collections.deque = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._next_id = 1
        self._subscribers: List[Callable[[Dict[str, Any]], None]] = []
        self.level = level

    def record(self, entry: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Assign an id and timestamp, store and broadcast `entry`; None when below the level."""
        with self._lock:
            entry["id"] = self._next_id
            self._next_id += 1  # ids advance even for filtered entries (reference §3.18)
            if LEVELS.get(level_of(entry), 20) < LEVELS.get(self.level, 20):
                return None
            entry.setdefault("timestamp", datetime.datetime.now().astimezone().isoformat(timespec="milliseconds"))
            self._entries.append(entry)
            subscribers = list(self._subscribers)
        for notify in subscribers:
            try:
                notify(entry)
            except Exception:  # an observer must never break the request that logged (fail open)
                pass
        return entry

    def recent(self, limit: int = 100) -> List[Dict[str, Any]]:
        """Up to `limit` entries, newest first."""
        with self._lock:
            items = list(self._entries)[-limit:]
        return items[::-1]

    def subscribe(self, notify: Callable[[Dict[str, Any]], None]) -> Callable[[], None]:
        """Call `notify(entry)` for every new entry; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(notify)

        def unsubscribe() -> None:
            with self._lock:
                if notify in self._subscribers:
                    self._subscribers.remove(notify)
        return unsubscribe
