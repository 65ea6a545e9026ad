"""SQLite connections: pragmas, the single writer thread, thread-local readers, JSON columns.

Owns every `sqlite3.connect` call in Tresor. Knows nothing about tables (migrations.py and the
table modules do). Writes go through `Writer` (one thread, one connection, explicit
`BEGIN IMMEDIATE` transactions, datasette's `database.py` pattern); reads use `Readers`.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
from typing import Any, Callable, List

from tresor.errors import ConfigError

__all__ = ["connect", "Writer", "Readers", "run_in_transaction", "encode_json", "decode_json", "NOW_SQL"]

log = logging.getLogger(__name__)

# RFC 3339 UTC text, e.g. 2025-01-31T09:05:00Z: sorts lexically and parses everywhere.
NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%SZ','now')"

_OPEN_HINT = "check that the directory exists and is writable, or set db_path in config.yaml"


def connect(path: str, is_reader: bool = False) -> sqlite3.Connection:
    """Open `path` with Tresor's pragmas and return the connection.

    Creates the parent directory when missing. The connection has `isolation_level=None`
    (transactions are explicit), rows as `sqlite3.Row` and may be used from any thread
    (callers guarantee one thread at a time). A writer connection switches to WAL and proves
    it can write; a reader sets `query_only`. Raises ConfigError when the file cannot be
    opened or written.
    """
    try:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        if not is_reader:
            _make_private(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as e:
        raise ConfigError("cannot open database %s: %s" % (path, e), hint=_OPEN_HINT) from e
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA synchronous=NORMAL")
        if is_reader:
            conn.execute("PRAGMA query_only=1")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            # An empty transaction that takes the write lock: fails now on a read-only file.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("COMMIT")
    except sqlite3.Error as e:
        conn.close()
        raise ConfigError("cannot open database %s: %s" % (path, e), hint=_OPEN_HINT) from e
    return conn


def _make_private(path: str) -> None:
    # The database holds downstream API keys and admin session tokens: owner-only, like config.yaml
    # (SPEC §8). SQLite gives the -wal and -shm files the main file's mode.
    if path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for name in (path, path + "-wal", path + "-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass  # not there (-wal, -shm), or not ours to change: SQLite reports real problems


def encode_json(value: Any) -> str:
    """Serialize a JSON column value compactly, keeping non-ASCII text as-is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_json(text: Any, default: Any) -> Any:
    """Parse a JSON column; NULL or empty text gives `default`. Malformed JSON raises ValueError."""
    if text is None or text == "":
        return default
    return json.loads(text)


def run_in_transaction(conn: sqlite3.Connection, fn: Callable, args: tuple) -> Any:
    """Run `fn(conn, *args)` between BEGIN IMMEDIATE and COMMIT; roll back and re-raise on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


class _Job:
    """One unit of work for the writer thread; `done` is set when a waited-on job finishes."""

    __slots__ = ("fn", "args", "done", "result", "error")

    def __init__(self, fn: Callable, args: tuple, is_waited: bool):
        self.fn = fn
        self.args = args
        self.done = threading.Event() if is_waited else None
        self.result = None
        self.error = None


_STOP = object()


class Writer:
    """The one thread that writes: owns `conn` from construction until `close()`.

    Work is run in FIFO order, each item in its own transaction. Not reentrant: calling
    `call()` from inside a job would deadlock and raises RuntimeError instead.
    """

    def __init__(self, conn: sqlite3.Connection, name: str = "tresor-store-writer"):
        self._conn = conn
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._is_closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable, *args: Any) -> Any:
        """Run `fn(conn, *args)` in a transaction on the writer thread and return its result.

        Blocks until done. An exception from `fn` rolls the transaction back and is re-raised
        here. Raises RuntimeError after `close()` or when called from the writer thread.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("Writer.call() from the writer thread would deadlock")
        job = _Job(fn, args, is_waited=True)
        self._put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def submit(self, fn: Callable, *args: Any) -> None:
        """Queue `fn(conn, *args)` without waiting; its errors are logged, never raised.

        After `close()` the work is dropped with a warning (shutdown must not fail on stats).
        """
        try:
            self._put(_Job(fn, args, is_waited=False))
        except RuntimeError:
            log.warning("store closed; dropped background write %s", getattr(fn, "__name__", fn))

    def close(self) -> None:
        """Finish all queued work, stop the thread and close the connection. Idempotent."""
        with self._lock:
            if self._is_closed:
                return
            self._is_closed = True
            self._queue.put(_STOP)
        self._thread.join()
        self._conn.close()

    def _put(self, job: _Job) -> None:
        with self._lock:
            if self._is_closed:
                raise RuntimeError("the store is closed")
            self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            try:
                job.result = run_in_transaction(self._conn, job.fn, job.args)
            except BaseException as e:  # handed to the caller, or logged for submit()
                job.error = e
                if job.done is None:
                    log.exception("background store write %s failed", getattr(job.fn, "__name__", job.fn))
            if job.done is not None:
                job.done.set()


class Readers:
    """Read-only connections to one database file, one per thread (`threading.local`)."""

    def __init__(self, path: str):
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: List[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        """Return this thread's reader connection, opening it on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, is_reader=True)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        """Close every reader connection handed out so far (used at shutdown)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
