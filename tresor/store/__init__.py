"""The SQLite store: `Store.open(path)` gives thread-local readers and one writer thread.

Knows nothing about HTTP or wire formats. Table access is the plain functions in
downstreams/rules/aliases/sessions/stats (pass them to `write`, or call them with `reader()`);
sync.py merges config.yaml at startup. Schema and pragmas: migrations.py, db.py.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any, Callable

from tresor.store import db, migrations

__all__ = ["Store"]


class Store:
    """An open database: read with `reader()`, write with `write()`/`submit()`, then `close()`.

    Thread-safe. Every write runs on the one writer thread, in its own transaction.
    """

    def __init__(self, path: str, writer: db.Writer, readers: db.Readers):
        """Wrap an already-migrated database; use `Store.open` instead."""
        self.path = path
        self._writer = writer
        self._readers = readers
        self._lock = threading.Lock()
        self._is_closed = False

    @classmethod
    def open(cls, path: str) -> "Store":
        """Open (creating if needed) the database at `path`, migrate it and start the writer.

        `~` is expanded and a missing parent directory is created. Raises ConfigError when
        the file cannot be opened for writing or its schema is newer than this Tresor.
        """
        path = os.path.expanduser(path)
        conn = db.connect(path)
        try:
            migrations.migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(path, db.Writer(conn), db.Readers(path))

    def reader(self) -> sqlite3.Connection:
        """Return this thread's read-only connection (opened on first use; do not close it)."""
        if self._is_closed:
            raise RuntimeError("the store is closed")
        return self._readers.get()

    def write(self, fn: Callable, *args: Any) -> Any:
        """Run `fn(conn, *args)` in one transaction on the writer thread; return or raise its outcome."""
        return self._writer.call(fn, *args)

    def submit(self, fn: Callable, *args: Any) -> None:
        """Queue `fn(conn, *args)` without waiting (stats); failures are logged, never raised."""
        self._writer.submit(fn, *args)

    def close(self) -> None:
        """Finish queued writes, stop the writer and close every connection. Idempotent."""
        with self._lock:
            if self._is_closed:
                return
            self._is_closed = True
        self._writer.close()
        self._readers.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
