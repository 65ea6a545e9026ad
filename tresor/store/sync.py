"""YAML → SQLite at startup (reference §1.8) and SQLite → config values for write-back (§1.9).

Owns the merge policy only; the SQL lives in the table modules. Differences from the Go
project: no demo data is seeded, and an alias option id moved to another group in YAML
really moves (Go kept the old `input_model_id`).
"""
from __future__ import annotations

import sqlite3
from typing import Dict, Tuple

from tresor.config.model import AliasGroup, Config, Downstream, Rule
from tresor.errors import ConfigError
from tresor.store import aliases, downstreams, rules

__all__ = ["load_config_data", "snapshot"]


def load_config_data(conn: sqlite3.Connection, config: Config) -> Dict[str, int]:
    """Upsert the routing sections of `config` into the database; return counts per section.

    Call inside one write transaction (`store.write(load_config_data, config)`), so a
    ConfigError (invalid alias group, an option id in two groups) leaves the DB untouched.
    Each section is merged on its own and an empty section changes nothing. Downstreams and
    rules are upserted by id in YAML order (YAML wins; a downstream's model list is replaced).
    Alias groups: see `_load_aliases`. Rows that exist only in the DB are kept.
    """
    for index, ds in enumerate(config.downstreams):
        downstreams.upsert(conn, ds, index)
    for index, rule in enumerate(config.rules):
        rules.upsert(conn, rule, index)
    if config.aliases:
        _load_aliases(conn, config.aliases)
    return {"downstreams": len(config.downstreams), "rules": len(config.rules), "aliases": len(config.aliases)}


def _check_unique(groups: Tuple[AliasGroup, ...]) -> None:
    owner: Dict[str, str] = {}
    names = set()
    for group in groups:
        if group.input_model_id in names:
            raise ConfigError("alias group %r appears twice in aliases" % group.input_model_id)
        names.add(group.input_model_id)
        for option in group.options:
            if option.id in owner and owner[option.id] != group.input_model_id:
                raise ConfigError("alias id %r is in groups %r and %r"
                                  % (option.id, owner[option.id], group.input_model_id))
            owner[option.id] = group.input_model_id


def _load_aliases(conn: sqlite3.Connection, groups: Tuple[AliasGroup, ...]) -> None:
    """Merge YAML alias groups into the DB.

    A group with no options loses its DB rows. A group with options is validated (downstream
    ids are not checked: routing reports a missing downstream with 502, as in Go), gets
    group_order = YAML index + 1, and its rows become exactly its options in YAML order. The
    DB's active option stays active while its id is still in the group, otherwise the first
    option becomes active. Groups only in the DB are kept as they are.
    """
    _check_unique(groups)
    names = {g.input_model_id for g in groups}
    known = [g for g in groups if g.options] + [g for g in aliases.list_groups(conn) if g.input_model_id not in names]
    model_ids = {m for ds in downstreams.list_(conn) for m in ds.output_model_ids}
    for group in groups:
        aliases.validate_group(group, None, known, model_ids)
    active = aliases.active_ids(conn)
    for group in groups:
        if not group.options:
            aliases.delete_group(conn, group.input_model_id)
    for index, group in enumerate(groups):
        if not group.options:
            continue
        ids = [o.id for o in group.options]
        current = active.get(group.input_model_id)
        aliases.replace_group(conn, group, index + 1, current if current in ids else ids[0])


def snapshot(conn: sqlite3.Connection) -> Tuple[Tuple[Downstream, ...], Tuple[Rule, ...], Tuple[AliasGroup, ...]]:
    """Return the DB's downstreams, rules and alias groups in config order (for write-back).

    `config.replace(downstreams=…, rules=…, aliases=…)` with these gives the config to save;
    which option is active is not part of it (reference §1.9).
    """
    return tuple(downstreams.list_(conn)), tuple(rules.list_(conn)), tuple(aliases.list_groups(conn))
