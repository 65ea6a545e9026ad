"""Schema migrations: an ordered tuple of `m00N_…(conn)` functions, progress in PRAGMA user_version.

Each migration runs in its own transaction together with the user_version bump (llm and
sqlite-utils style). Column names follow the Go project's schema (reference §2) so a Go
Tresor database can be adopted in place; `m001_initial` creates what is missing.
"""
from __future__ import annotations

import sqlite3

from tresor.errors import ConfigError
from tresor.store.db import NOW_SQL, run_in_transaction

__all__ = ["MIGRATIONS", "migrate", "m001_initial", "current_version"]

_NOW = "(%s)" % NOW_SQL
_COUNTERS = """
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_creation INTEGER NOT NULL DEFAULT 0,
  cache_read INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  request_count INTEGER NOT NULL DEFAULT 0,
  cache_hit_count INTEGER NOT NULL DEFAULT 0"""

_M001_TABLES = (
    """CREATE TABLE IF NOT EXISTS downstreams (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  base_url TEXT NOT NULL,
  api_key TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT %s,
  api_formats TEXT NOT NULL DEFAULT '[]',
  format_urls TEXT NOT NULL DEFAULT '{}',
  position INTEGER NOT NULL DEFAULT 0
)""" % _NOW,
    """CREATE TABLE IF NOT EXISTS output_model_ids (
  downstream_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  position INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (downstream_id, model_id)
)""",
    """CREATE TABLE IF NOT EXISTS rules (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  pattern_path TEXT NOT NULL,
  pattern_models TEXT NOT NULL DEFAULT '[]',
  pipeline_config TEXT NOT NULL DEFAULT '[]',
  is_enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT %s,
  match_format TEXT NOT NULL DEFAULT '[]',
  match_downstream_format TEXT NOT NULL DEFAULT '[]',
  match_downstreams TEXT NOT NULL DEFAULT '[]',
  version INTEGER NOT NULL DEFAULT 1,
  position INTEGER NOT NULL DEFAULT 0
)""" % _NOW,
    "CREATE INDEX IF NOT EXISTS idx_rules_is_enabled ON rules(is_enabled)",
    """CREATE TABLE IF NOT EXISTS aliases (
  id TEXT PRIMARY KEY NOT NULL,
  input_model_id TEXT NOT NULL,
  downstream_id TEXT NOT NULL,
  output_model_id TEXT NOT NULL,
  is_active INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT %s,
  is_regex INTEGER NOT NULL DEFAULT 0,
  group_order INTEGER NOT NULL DEFAULT 0,
  announced_names TEXT NOT NULL DEFAULT '[]'
)""" % _NOW,
    "CREATE INDEX IF NOT EXISTS idx_aliases_input_model_id ON aliases(input_model_id)",
    """CREATE TABLE IF NOT EXISTS sessions (
  token TEXT PRIMARY KEY NOT NULL,
  created_at TEXT NOT NULL DEFAULT %s,
  last_seen_at TEXT NOT NULL DEFAULT %s
)""" % (_NOW, _NOW),
    """CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL DEFAULT ''
)""",
    """CREATE TABLE IF NOT EXISTS usage_stats (
  bucket TEXT NOT NULL,
  downstream_id TEXT NOT NULL,
  model TEXT NOT NULL,%s,
  PRIMARY KEY (bucket, downstream_id, model)
)""" % _COUNTERS,
    "CREATE INDEX IF NOT EXISTS idx_usage_stats_bucket ON usage_stats(bucket)",
    "CREATE INDEX IF NOT EXISTS idx_usage_stats_model ON usage_stats(model)",
    """CREATE TABLE IF NOT EXISTS ip_usage_stats (
  bucket TEXT NOT NULL,
  client_ip TEXT NOT NULL,%s,
  PRIMARY KEY (bucket, client_ip)
)""" % _COUNTERS,
)

# Columns a Go Tresor database may lack (older Go schemas, or ours only). ALTER TABLE ADD
# COLUMN only accepts constant defaults, so adopted timestamps default to ''.
_ADOPT_COLUMNS = (
    ("downstreams", "api_key", "TEXT NOT NULL DEFAULT ''"),
    ("downstreams", "api_formats", "TEXT NOT NULL DEFAULT '[]'"),
    ("downstreams", "format_urls", "TEXT NOT NULL DEFAULT '{}'"),
    ("downstreams", "position", "INTEGER NOT NULL DEFAULT 0"),
    ("output_model_ids", "position", "INTEGER NOT NULL DEFAULT 0"),
    ("rules", "pattern_models", "TEXT NOT NULL DEFAULT '[]'"),
    ("rules", "match_format", "TEXT NOT NULL DEFAULT '[]'"),
    ("rules", "match_downstream_format", "TEXT NOT NULL DEFAULT '[]'"),
    ("rules", "match_downstreams", "TEXT NOT NULL DEFAULT '[]'"),
    ("rules", "version", "INTEGER NOT NULL DEFAULT 1"),
    ("rules", "position", "INTEGER NOT NULL DEFAULT 0"),
    ("aliases", "is_regex", "INTEGER NOT NULL DEFAULT 0"),
    ("aliases", "group_order", "INTEGER NOT NULL DEFAULT 0"),
    ("aliases", "announced_names", "TEXT NOT NULL DEFAULT '[]'"),
    ("sessions", "last_seen_at", "TEXT NOT NULL DEFAULT ''"),
    ("usage_stats", "reasoning_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("ip_usage_stats", "reasoning_tokens", "INTEGER NOT NULL DEFAULT 0"),
)


def _columns(conn: sqlite3.Connection, table: str) -> set:
    return {row[1] for row in conn.execute("PRAGMA table_info(%s)" % table)}


def m001_initial(conn: sqlite3.Connection) -> None:
    """Create every table and index; on a Go Tresor database, add our extra columns instead."""
    for sql in _M001_TABLES:
        conn.execute(sql)
    for table, column, decl in _ADOPT_COLUMNS:
        if column not in _columns(conn, table):
            conn.execute("ALTER TABLE %s ADD COLUMN %s %s" % (table, column, decl))
    # The Go project kept a single admin token here before the sessions table existed.
    conn.execute("DELETE FROM settings WHERE key = 'session_token'")


MIGRATIONS = (m001_initial,)


def current_version(conn: sqlite3.Connection) -> int:
    """Return the database's PRAGMA user_version (0 for a new file)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's user_version; return the final version.

    `conn` must be outside a transaction (isolation_level=None). Each step commits on its own,
    so a failure leaves the database at the last good version. Raises ConfigError when the
    database was written by a newer Tresor than this one.
    """
    version = current_version(conn)
    if version > len(MIGRATIONS):
        raise ConfigError(
            "database schema version %d is newer than this Tresor supports (%d)" % (version, len(MIGRATIONS)),
            hint="upgrade Tresor, or point db_path at another file")
    for number in range(version + 1, len(MIGRATIONS) + 1):
        run_in_transaction(conn, _apply, (number,))
    return len(MIGRATIONS)


def _apply(conn: sqlite3.Connection, number: int) -> None:
    MIGRATIONS[number - 1](conn)
    conn.execute("PRAGMA user_version = %d" % number)
