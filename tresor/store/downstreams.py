"""The `downstreams` and `output_model_ids` tables, as `config.model.Downstream` values.

Plain functions taking `conn` first. Config order is `position`, then `created_at`, then rowid;
model lists keep their own `position` (YAML order; the Go project sorted them by name).
Deleting a downstream cascades into rules and aliases (reference §2).
"""
from __future__ import annotations

import sqlite3
from typing import Dict, List, Optional

from tresor.config.model import Downstream
from tresor.store import aliases
from tresor.store.db import decode_json, encode_json

__all__ = ["list_", "get", "upsert", "delete", "add_model", "remove_model", "find_by_model", "next_position",
           "created_times"]

_ORDER = "ORDER BY position, created_at, rowid"


def _models(conn: sqlite3.Connection, downstream_id: Optional[str] = None) -> Dict[str, List[str]]:
    sql = "SELECT downstream_id, model_id FROM output_model_ids"
    args: tuple = ()
    if downstream_id is not None:
        sql += " WHERE downstream_id = ?"
        args = (downstream_id,)
    models: Dict[str, List[str]] = {}
    for row in conn.execute(sql + " ORDER BY downstream_id, position, rowid", args):
        models.setdefault(row["downstream_id"], []).append(row["model_id"])
    return models


def _from_row(row: sqlite3.Row, models: Dict[str, List[str]]) -> Downstream:
    return Downstream(
        id=row["id"], name=row["name"], base_url=row["base_url"], api_key=row["api_key"],
        api_formats=tuple(decode_json(row["api_formats"], [])),
        format_urls=dict(decode_json(row["format_urls"], {})),
        output_model_ids=tuple(models.get(row["id"], ())))


def list_(conn: sqlite3.Connection) -> List[Downstream]:
    """Return every downstream in config order, each with its models in their saved order."""
    models = _models(conn)
    return [_from_row(row, models) for row in conn.execute("SELECT * FROM downstreams " + _ORDER)]


def get(conn: sqlite3.Connection, downstream_id: str) -> Optional[Downstream]:
    """Return the downstream with `downstream_id`, or None."""
    row = conn.execute("SELECT * FROM downstreams WHERE id = ?", (downstream_id,)).fetchone()
    return None if row is None else _from_row(row, _models(conn, downstream_id))


def next_position(conn: sqlite3.Connection) -> int:
    """Return the position that puts a new downstream after every existing one."""
    return conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM downstreams").fetchone()[0]


def upsert(conn: sqlite3.Connection, ds: Downstream, position: Optional[int] = None) -> None:
    """Insert or overwrite `ds` by id and replace its model list with `ds.output_model_ids`.

    `position=None` keeps an existing row's position and appends a new row at the end.
    `created_at` of an existing row is kept. Duplicate model ids keep their first position.
    """
    if position is None:
        row = conn.execute("SELECT position FROM downstreams WHERE id = ?", (ds.id,)).fetchone()
        position = next_position(conn) if row is None else row["position"]
    conn.execute(
        "INSERT INTO downstreams (id, name, base_url, api_key, api_formats, format_urls, position)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, base_url = excluded.base_url,"
        " api_key = excluded.api_key, api_formats = excluded.api_formats,"
        " format_urls = excluded.format_urls, position = excluded.position",
        (ds.id, ds.name, ds.base_url, ds.api_key, encode_json(list(ds.api_formats)),
         encode_json(dict(ds.format_urls)), position))
    conn.execute("DELETE FROM output_model_ids WHERE downstream_id = ?", (ds.id,))
    conn.executemany(
        "INSERT OR IGNORE INTO output_model_ids (downstream_id, model_id, position) VALUES (?, ?, ?)",
        [(ds.id, model, index) for index, model in enumerate(ds.output_model_ids)])


def delete(conn: sqlite3.Connection, downstream_id: str) -> bool:
    """Delete a downstream and everything pointing at it; return False when it did not exist.

    Cascade (reference §2): the id is removed from every rule's `match_downstreams` (version
    bumped); a rule whose list becomes empty is disabled rather than left matching every
    downstream (Go bug fixed). Alias options routing to it are deleted; when one was its group's
    active option, the oldest remaining sibling takes over (as for a single alias delete).
    """
    if conn.execute("SELECT 1 FROM downstreams WHERE id = ?", (downstream_id,)).fetchone() is None:
        return False
    _detach_from_rules(conn, downstream_id)
    option_ids = [r[0] for r in conn.execute("SELECT id FROM aliases WHERE downstream_id = ?", (downstream_id,))]
    for option_id in option_ids:
        aliases.delete_option(conn, option_id)
    conn.execute("DELETE FROM output_model_ids WHERE downstream_id = ?", (downstream_id,))
    conn.execute("DELETE FROM downstreams WHERE id = ?", (downstream_id,))
    return True


def _detach_from_rules(conn: sqlite3.Connection, downstream_id: str) -> None:
    rows = conn.execute("SELECT id, match_downstreams FROM rules").fetchall()
    for row in rows:
        ids = decode_json(row["match_downstreams"], [])
        if downstream_id not in ids:
            continue
        left = [i for i in ids if i != downstream_id]
        conn.execute(
            "UPDATE rules SET match_downstreams = ?, version = version + 1,"
            " is_enabled = CASE WHEN ? THEN is_enabled ELSE 0 END WHERE id = ?",
            (encode_json(left), bool(left), row["id"]))


def add_model(conn: sqlite3.Connection, downstream_id: str, model_id: str) -> bool:
    """Append `model_id` to the downstream's models; return False if already there (idempotent)."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO output_model_ids (downstream_id, model_id, position)"
        " SELECT ?, ?, COALESCE(MAX(position) + 1, 0) FROM output_model_ids WHERE downstream_id = ?",
        (downstream_id, model_id, downstream_id))
    return cursor.rowcount > 0


def remove_model(conn: sqlite3.Connection, downstream_id: str, model_id: str) -> bool:
    """Remove `model_id` from the downstream's models; return False if it was not there."""
    cursor = conn.execute(
        "DELETE FROM output_model_ids WHERE downstream_id = ? AND model_id = ?", (downstream_id, model_id))
    return cursor.rowcount > 0


def find_by_model(conn: sqlite3.Connection, model: str) -> Optional[Downstream]:
    """Return the first downstream in config order that lists `model` exactly (reference §3.6 step 2)."""
    row = conn.execute(
        "SELECT d.id FROM downstreams d JOIN output_model_ids m ON m.downstream_id = d.id"
        " WHERE m.model_id = ? ORDER BY d.position, d.created_at, d.rowid LIMIT 1", (model,)).fetchone()
    return None if row is None else get(conn, row["id"])


def created_times(conn: sqlite3.Connection) -> Dict[str, str]:
    """Return `{downstream id: created_at text}` for every downstream (the admin API shows it)."""
    return {row["id"]: row["created_at"] for row in conn.execute("SELECT id, created_at FROM downstreams")}
