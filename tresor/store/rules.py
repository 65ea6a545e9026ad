"""The `rules` table, as `config.model.Rule` values plus a per-rule `version`.

Plain functions taking `conn` first. Each list field has its own JSON column, read back by
name (the Go project matched columns by comparing JSON strings and lost one of two equal
lists, reference §1.9). `version` grows on every content change so compiled pipelines
cached by (id, version) go stale (STYLE §4.3). Config order is position, created_at, rowid.
"""
from __future__ import annotations

import sqlite3
from typing import Dict, List, Optional, Tuple

from tresor.config.model import PipelineStep, Rule
from tresor.store.db import decode_json, encode_json

__all__ = ["list_", "get", "upsert", "delete", "set_enabled", "list_enabled_with_version",
           "get_version", "next_position", "encode_pipeline", "decode_pipeline", "created_times"]

_ORDER = "ORDER BY position, created_at, rowid"
_LIST_COLUMNS = ("pattern_models", "match_format", "match_downstream_format", "match_downstreams")


def encode_pipeline(steps: Tuple[PipelineStep, ...]) -> str:
    """Return the `pipeline_config` JSON text: `[{"plugin_id":…, "config":…}]`, config omitted when None."""
    items = []
    for step in steps:
        item = {"plugin_id": step.plugin_id}
        if step.config is not None:
            item["config"] = step.config
        items.append(item)
    return encode_json(items)


def decode_pipeline(text: str) -> Tuple[PipelineStep, ...]:
    """Parse `pipeline_config` JSON text (ours or the Go project's) into PipelineSteps."""
    return tuple(PipelineStep(item["plugin_id"], item.get("config")) for item in decode_json(text, []))


def _from_row(row: sqlite3.Row) -> Rule:
    lists = {name: tuple(decode_json(row[name], [])) for name in _LIST_COLUMNS}
    return Rule(id=row["id"], name=row["name"], pattern_path=row["pattern_path"],
                pipeline_config=decode_pipeline(row["pipeline_config"]),
                is_enabled=bool(row["is_enabled"]), **lists)


def _content(rule: Rule) -> tuple:
    """The stored form of every field that affects matching or the pipeline, in column order."""
    return (rule.name, rule.pattern_path, encode_json(list(rule.pattern_models)),
            encode_pipeline(rule.pipeline_config), int(bool(rule.is_enabled)),
            encode_json(list(rule.match_format)), encode_json(list(rule.match_downstream_format)),
            encode_json(list(rule.match_downstreams)))


def list_(conn: sqlite3.Connection) -> List[Rule]:
    """Return every rule, enabled or not, in config order."""
    return [_from_row(row) for row in conn.execute("SELECT * FROM rules " + _ORDER)]


def list_enabled_with_version(conn: sqlite3.Connection) -> List[Tuple[Rule, int]]:
    """Return `(rule, version)` for every enabled rule in config order (routing's input, §3.7)."""
    rows = conn.execute("SELECT * FROM rules WHERE is_enabled = 1 " + _ORDER)
    return [(_from_row(row), row["version"]) for row in rows]


def get(conn: sqlite3.Connection, rule_id: str) -> Optional[Rule]:
    """Return the rule with `rule_id`, or None."""
    row = conn.execute("SELECT * FROM rules WHERE id = ?", (rule_id,)).fetchone()
    return None if row is None else _from_row(row)


def get_version(conn: sqlite3.Connection, rule_id: str) -> Optional[int]:
    """Return the rule's current version, or None when it does not exist."""
    row = conn.execute("SELECT version FROM rules WHERE id = ?", (rule_id,)).fetchone()
    return None if row is None else row["version"]


def next_position(conn: sqlite3.Connection) -> int:
    """Return the position that puts a new rule after every existing one."""
    return conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM rules").fetchone()[0]


def upsert(conn: sqlite3.Connection, rule: Rule, position: Optional[int] = None) -> int:
    """Insert or overwrite `rule` by id and return its version.

    A new rule starts at version 1; an existing one gets version + 1 only when a field differs
    (position alone is not content). `position=None` keeps an existing row's position and
    appends a new rule at the end. `created_at` of an existing row is kept.
    """
    content = _content(rule)
    row = conn.execute("SELECT * FROM rules WHERE id = ?", (rule.id,)).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO rules (name, pattern_path, pattern_models, pipeline_config, is_enabled,"
            " match_format, match_downstream_format, match_downstreams, id, position)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            content + (rule.id, next_position(conn) if position is None else position))
        return 1
    stored = (row["name"], row["pattern_path"], row["pattern_models"], row["pipeline_config"],
              row["is_enabled"], row["match_format"], row["match_downstream_format"], row["match_downstreams"])
    version = row["version"] + (stored != content)
    conn.execute(
        "UPDATE rules SET name = ?, pattern_path = ?, pattern_models = ?, pipeline_config = ?,"
        " is_enabled = ?, match_format = ?, match_downstream_format = ?, match_downstreams = ?,"
        " version = ?, position = ? WHERE id = ?",
        content + (version, row["position"] if position is None else position, rule.id))
    return version


def delete(conn: sqlite3.Connection, rule_id: str) -> bool:
    """Delete the rule; return False when it did not exist."""
    return conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount > 0


def set_enabled(conn: sqlite3.Connection, rule_id: str, is_enabled: bool) -> bool:
    """Enable or disable a rule, bumping its version on a change; return False when it does not exist."""
    cursor = conn.execute(
        "UPDATE rules SET version = version + (is_enabled != ?), is_enabled = ? WHERE id = ?",
        (int(bool(is_enabled)), int(bool(is_enabled)), rule_id))
    return cursor.rowcount > 0


def created_times(conn: sqlite3.Connection) -> Dict[str, str]:
    """Return `{rule id: created_at text}` for every rule (the admin API shows it)."""
    return {row["id"]: row["created_at"] for row in conn.execute("SELECT id, created_at FROM rules")}
