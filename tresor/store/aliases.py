"""The `aliases` table: alias groups (rows sharing `input_model_id`) and which option is active.

Plain functions taking `conn` first, returning `config.model.AliasGroup`/`AliasOption`.
Group-level values (`is_regex`, `announced_names`, `group_order`) are copied onto every row
of a group; groups are ordered by group_order then rowid, options by rowid (reference §1.5).
Patterns use Python `re.search` (unanchored, like Go's RE2 search; `re` caches compiled ones).
"""
from __future__ import annotations

import logging
import re
import sqlite3
from typing import Collection, Dict, Iterable, List, Optional, Tuple

from tresor.config.model import AliasGroup, AliasOption
from tresor.errors import ConfigError
from tresor.store.db import NOW_SQL, decode_json, encode_json

__all__ = ["list_groups", "get_group", "active_ids", "get", "list_options", "activate", "find_active", "save_option",
           "replace_group", "delete_option", "delete_group", "reorder", "validate_group"]

log = logging.getLogger(__name__)

_ORDER = "ORDER BY group_order, rowid"


def _groups(rows: Iterable[sqlite3.Row]) -> List[AliasGroup]:
    """Fold rows (already in group order, then rowid) into groups in first-appearance order."""
    folded: Dict[str, list] = {}
    for row in rows:
        entry = folded.setdefault(row["input_model_id"], [row, []])
        entry[1].append(AliasOption(row["id"], row["downstream_id"], row["output_model_id"]))
    return [AliasGroup(input_model_id=key, options=tuple(options), is_regex=bool(first["is_regex"]),
                       announced_names=tuple(decode_json(first["announced_names"], [])))
            for key, (first, options) in folded.items()]


def list_groups(conn: sqlite3.Connection) -> List[AliasGroup]:
    """Return every alias group in group order, options in creation (rowid) order."""
    return _groups(conn.execute("SELECT * FROM aliases " + _ORDER))


def get_group(conn: sqlite3.Connection, input_model_id: str) -> Optional[AliasGroup]:
    """Return the group named `input_model_id`, or None when it has no rows."""
    groups = _groups(conn.execute("SELECT * FROM aliases WHERE input_model_id = ? ORDER BY rowid",
                                  (input_model_id,)))
    return groups[0] if groups else None


def active_ids(conn: sqlite3.Connection) -> Dict[str, str]:
    """Return `{input_model_id: active option id}` for every group that has an active option."""
    rows = conn.execute("SELECT input_model_id, id FROM aliases WHERE is_active = 1 " + _ORDER)
    return {row["input_model_id"]: row["id"] for row in rows}


def _option_dict(row: sqlite3.Row) -> dict:
    alias = {key: row[key] for key in row.keys()}
    alias.update(is_active=bool(row["is_active"]), is_regex=bool(row["is_regex"]),
                 announced_names=decode_json(row["announced_names"], []))
    return alias


def get(conn: sqlite3.Connection, option_id: str) -> Optional[dict]:
    """Return one option row as a dict shaped like the admin API's Alias, or None.

    Keys: id, input_model_id, downstream_id, output_model_id, is_active, is_regex (bools),
    group_order, created_at, announced_names (list).
    """
    row = conn.execute("SELECT * FROM aliases WHERE id = ?", (option_id,)).fetchone()
    return None if row is None else _option_dict(row)


def list_options(conn: sqlite3.Connection) -> List[dict]:
    """Return every option row as a dict shaped like `get`, groups in group order, options by rowid."""
    return [_option_dict(row) for row in conn.execute("SELECT * FROM aliases " + _ORDER)]


def activate(conn: sqlite3.Connection, option_id: str) -> bool:
    """Make `option_id` its group's only active option; return False when it does not exist."""
    row = conn.execute("SELECT input_model_id FROM aliases WHERE id = ?", (option_id,)).fetchone()
    if row is None:
        return False
    conn.execute("UPDATE aliases SET is_active = (id = ?) WHERE input_model_id = ?",
                 (option_id, row["input_model_id"]))
    return True


def _searches(pattern: str, model: str) -> bool:
    try:
        return re.search(pattern, model) is not None
    except re.error as e:
        log.warning("alias pattern %r is not a valid regex (%s); skipped", pattern, e)
        return False


def find_active(conn: sqlite3.Connection, model: str) -> Optional[Tuple[AliasGroup, AliasOption]]:
    """Resolve `model` to `(group, active option)` per reference §3.6 step 1, or None.

    Tried in order, over active options only: (a) `model` is one of a group's announced names;
    (b) `model` equals a group's `input_model_id`; (c) a regex group's pattern *searches*
    `model`, groups in group order. A group without an active option never matches.
    """
    # One statement, so the groups are a consistent snapshot even while the writer works.
    rows = conn.execute("SELECT * FROM aliases WHERE input_model_id IN"
                        " (SELECT input_model_id FROM aliases WHERE is_active = 1) " + _ORDER).fetchall()
    active = [r for r in rows if r["is_active"]]
    hit = (next((r for r in active if model in decode_json(r["announced_names"], [])), None)
           or next((r for r in active if r["input_model_id"] == model), None)
           or next((r for r in active if r["is_regex"] and _searches(r["input_model_id"], model)), None))
    if hit is None:
        return None
    group = next(g for g in _groups(rows) if g.input_model_id == hit["input_model_id"])
    return group, next(o for o in group.options if o.id == hit["id"])


def _next_group_order(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(group_order), 0) + 1 FROM aliases").fetchone()[0]


def _detach(conn: sqlite3.Connection, option_id: str) -> Optional[sqlite3.Row]:
    """Delete one row; when it was active, its oldest remaining sibling becomes active."""
    row = conn.execute("SELECT * FROM aliases WHERE id = ?", (option_id,)).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM aliases WHERE id = ?", (option_id,))
    if row["is_active"]:
        conn.execute(
            "UPDATE aliases SET is_active = 1 WHERE rowid ="
            " (SELECT MIN(rowid) FROM aliases WHERE input_model_id = ?)", (row["input_model_id"],))
    return row


def save_option(conn: sqlite3.Connection, group: AliasGroup, option: AliasOption, is_active: bool = False) -> None:
    """Create or update `option` as a member of `group` (the admin API's alias POST/PUT).

    Only `group`'s input_model_id, is_regex and announced_names are used; the latter two are
    copied to every sibling. A new group is placed last; joining a group keeps its order.
    An option moving from another group leaves it like a delete would. `is_active=True`
    deactivates the siblings. Does not validate: call `validate_group` first.
    """
    row = conn.execute("SELECT * FROM aliases WHERE id = ?", (option.id,)).fetchone()
    if row is not None and row["input_model_id"] != group.input_model_id:
        delete_option(conn, option.id)
        row = None
    order_row = conn.execute("SELECT group_order FROM aliases WHERE input_model_id = ? AND id != ? LIMIT 1",
                             (group.input_model_id, option.id)).fetchone()
    order = _next_group_order(conn) if order_row is None else order_row[0]
    if row is None:
        conn.execute("INSERT INTO aliases (id, input_model_id, downstream_id, output_model_id)"
                     " VALUES (?, ?, ?, ?)", (option.id, group.input_model_id, option.downstream_id,
                                              option.output_model_id))
    else:
        conn.execute("UPDATE aliases SET downstream_id = ?, output_model_id = ? WHERE id = ?",
                     (option.downstream_id, option.output_model_id, option.id))
    conn.execute("UPDATE aliases SET is_regex = ?, announced_names = ?, group_order = ? WHERE input_model_id = ?",
                 (int(group.is_regex), encode_json(list(group.announced_names)), order, group.input_model_id))
    if is_active:
        activate(conn, option.id)
    else:
        conn.execute("UPDATE aliases SET is_active = 0 WHERE id = ?", (option.id,))


def replace_group(conn: sqlite3.Connection, group: AliasGroup, group_order: int, active_id: Optional[str]) -> None:
    """Make the DB rows of `group` exactly its options, in order, with `active_id` active.

    Used by the startup sync. Rows keep their `created_at`; rows of this group that are not
    in `group.options` are deleted; an option id found in another group is moved here (that
    group's oldest remaining sibling becomes active if it was the active one). Rowids follow
    the option order so options read back in the order given.
    """
    ids = [o.id for o in group.options]
    marks = ",".join("?" * len(ids))
    rows = conn.execute("SELECT id, input_model_id, created_at FROM aliases WHERE input_model_id = ?"
                        " OR id IN (%s)" % marks, [group.input_model_id] + ids).fetchall()
    created = {row["id"]: row["created_at"] for row in rows}
    for row in rows:
        if row["input_model_id"] != group.input_model_id:
            _detach(conn, row["id"])
    conn.execute("DELETE FROM aliases WHERE input_model_id = ?", (group.input_model_id,))
    announced = encode_json(list(group.announced_names))
    conn.executemany(
        "INSERT INTO aliases (id, input_model_id, downstream_id, output_model_id, is_active, created_at,"
        " is_regex, group_order, announced_names) VALUES (?, ?, ?, ?, ?, COALESCE(?, %s), ?, ?, ?)" % NOW_SQL,
        [(o.id, group.input_model_id, o.downstream_id, o.output_model_id, int(o.id == active_id),
          created.get(o.id), int(group.is_regex), group_order, announced) for o in group.options])


def _renumber(conn: sqlite3.Connection, first: Iterable[str] = ()) -> None:
    """Give groups group_order 1..n: the `first` names in that order, then the rest as they are."""
    rows = conn.execute("SELECT input_model_id FROM aliases GROUP BY input_model_id"
                        " ORDER BY MIN(group_order), MIN(rowid)").fetchall()
    first = list(first)
    names = first + [r[0] for r in rows if r[0] not in first]
    conn.executemany("UPDATE aliases SET group_order = ? WHERE input_model_id = ?",
                     [(index, name) for index, name in enumerate(names, start=1)])


def delete_option(conn: sqlite3.Connection, option_id: str) -> bool:
    """Delete one option; return False when it does not exist.

    If it was active, the oldest remaining sibling (by rowid) becomes active. If it was the
    group's last option, later groups move up (group_order stays 1..n).
    """
    row = _detach(conn, option_id)
    if row is None:
        return False
    if get_group(conn, row["input_model_id"]) is None:
        _renumber(conn)
    return True


def delete_group(conn: sqlite3.Connection, input_model_id: str) -> int:
    """Delete every option of the group and compact group_order; return the number deleted."""
    count = conn.execute("DELETE FROM aliases WHERE input_model_id = ?", (input_model_id,)).rowcount
    if count:
        _renumber(conn)
    return count


def reorder(conn: sqlite3.Connection, input_model_ids: List[str]) -> None:
    """Put the named groups first, in the given order; unnamed groups follow in their old order.

    Raises ConfigError for an empty list, a repeated name or an unknown group.
    """
    if not input_model_ids:
        raise ConfigError("alias group order is empty")
    known = {r[0] for r in conn.execute("SELECT DISTINCT input_model_id FROM aliases")}
    for index, name in enumerate(input_model_ids):
        if name not in known:
            raise ConfigError("alias group %r not found" % name)
        if name in input_model_ids[:index]:
            raise ConfigError("alias group %r is listed twice" % name)
    _renumber(conn, input_model_ids)


def validate_group(group: AliasGroup, downstream_ids: Optional[Collection[str]],
                   other_groups: Iterable[AliasGroup], all_output_model_ids: Collection[str]) -> None:
    """Check one group against reference §1.5; raise ConfigError naming the first problem.

    Checks the regex compiles (a warning is logged when it has neither `^` nor `$`), option ids
    are unique, each option's downstream is in `downstream_ids` (skipped when None), and the
    announced-name rules against `other_groups` (a group with the same input_model_id is
    ignored) and every downstream model id. Message prefixes: "invalid regex pattern",
    "downstream", "announced name", "alias".
    """
    pattern = None
    if group.is_regex:
        try:
            pattern = re.compile(group.input_model_id)
        except re.error as e:
            raise ConfigError("invalid regex pattern %r: %s" % (group.input_model_id, e)) from e
        if "^" not in group.input_model_id and "$" not in group.input_model_id:
            log.warning("alias pattern %r has neither ^ nor $ and matches anywhere in a model name",
                        group.input_model_id)
    elif group.announced_names:
        raise ConfigError("announced names are only allowed on regex alias groups (%r)" % group.input_model_id)
    seen = set()
    for option in group.options:
        if option.id in seen:
            raise ConfigError("alias id %r appears twice in group %r" % (option.id, group.input_model_id))
        seen.add(option.id)
        if downstream_ids is not None and option.downstream_id not in downstream_ids:
            raise ConfigError("downstream %r of alias %r not found" % (option.downstream_id, option.id))
    if pattern is not None:
        _validate_announced(group, pattern, other_groups, all_output_model_ids)


def _validate_announced(group: AliasGroup, pattern, other_groups: Iterable[AliasGroup],
                        all_output_model_ids: Collection[str]) -> None:
    others = [g for g in other_groups if g.input_model_id != group.input_model_id]
    inputs = {g.input_model_id for g in others}
    announced = {name for g in others if g.is_regex for name in g.announced_names}
    for index, name in enumerate(group.announced_names):
        if not isinstance(name, str) or not name:
            raise ConfigError("announced name #%d of %r is empty" % (index + 1, group.input_model_id))
        if name in group.announced_names[:index]:
            raise ConfigError("announced name %r is listed twice" % name)
        if not pattern.search(name):
            raise ConfigError("announced name %r does not match pattern %r" % (name, group.input_model_id))
        if name in all_output_model_ids:
            raise ConfigError("announced name %r collides with a downstream output_model_id" % name)
        if name in inputs:
            raise ConfigError("announced name %r collides with alias group %r" % (name, name))
        if name in announced:
            raise ConfigError("announced name %r is already announced by another group" % name)
