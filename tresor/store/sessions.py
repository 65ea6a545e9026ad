"""The `sessions` table: admin login tokens that survive restarts (reference §5.1).

Plain functions taking `conn` first. Tokens are opaque strings minted by the admin layer;
this module never generates or logs them.
"""
from __future__ import annotations

import sqlite3
from typing import List, Optional

from tresor.store.db import NOW_SQL

__all__ = ["create", "exists", "touch", "delete", "delete_all", "list_tokens"]


def create(conn: sqlite3.Connection, token: str) -> None:
    """Store a new session token (a repeated token is kept once, its times refreshed)."""
    conn.execute(
        "INSERT INTO sessions (token) VALUES (?)"
        " ON CONFLICT(token) DO UPDATE SET last_seen_at = %s" % NOW_SQL, (token,))


def exists(conn: sqlite3.Connection, token: str) -> bool:
    """Return whether `token` is a known session (safe on a read-only connection)."""
    return conn.execute("SELECT 1 FROM sessions WHERE token = ?", (token,)).fetchone() is not None


def touch(conn: sqlite3.Connection, token: str) -> bool:
    """Record that `token` was just used; return False when it is unknown."""
    cursor = conn.execute("UPDATE sessions SET last_seen_at = %s WHERE token = ?" % NOW_SQL, (token,))
    return cursor.rowcount > 0


def delete(conn: sqlite3.Connection, token: str) -> bool:
    """Revoke one session (logout); return False when it was unknown."""
    return conn.execute("DELETE FROM sessions WHERE token = ?", (token,)).rowcount > 0


def delete_all(conn: sqlite3.Connection, keep: Optional[str] = None) -> int:
    """Revoke every session except `keep` (the admin password changed); return how many were removed."""
    return conn.execute("DELETE FROM sessions WHERE token != ?", (keep or "",)).rowcount


def list_tokens(conn: sqlite3.Connection) -> List[str]:
    """Return every stored token, oldest first (the admin router restores these at start)."""
    return [row[0] for row in conn.execute("SELECT token FROM sessions ORDER BY created_at, rowid")]
