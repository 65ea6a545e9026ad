"""Migrations: an empty file becomes the final schema, column by column (llm's test_migrate.py)."""
import sqlite3

import pytest

from tresor.errors import ConfigError
from tresor.store import db, migrations

NOW = "strftime('%Y-%m-%dT%H:%M:%SZ','now')"
COUNTERS = [(name, "INTEGER", 1, "0", 0) for name in (
    "input_tokens", "output_tokens", "cache_creation", "cache_read", "reasoning_tokens",
    "request_count", "cache_hit_count")]

# (name, type, notnull, default, pk position) as PRAGMA table_info reports them.
EXPECTED_COLUMNS = {
    "downstreams": [
        ("id", "TEXT", 1, None, 1), ("name", "TEXT", 1, None, 0), ("base_url", "TEXT", 1, None, 0),
        ("api_key", "TEXT", 1, "''", 0), ("created_at", "TEXT", 1, NOW, 0),
        ("api_formats", "TEXT", 1, "'[]'", 0), ("format_urls", "TEXT", 1, "'{}'", 0),
        ("position", "INTEGER", 1, "0", 0)],
    "output_model_ids": [
        ("downstream_id", "TEXT", 1, None, 1), ("model_id", "TEXT", 1, None, 2),
        ("position", "INTEGER", 1, "0", 0)],
    "rules": [
        ("id", "TEXT", 1, None, 1), ("name", "TEXT", 1, None, 0), ("pattern_path", "TEXT", 1, None, 0),
        ("pattern_models", "TEXT", 1, "'[]'", 0), ("pipeline_config", "TEXT", 1, "'[]'", 0),
        ("is_enabled", "INTEGER", 1, "1", 0), ("created_at", "TEXT", 1, NOW, 0),
        ("match_format", "TEXT", 1, "'[]'", 0), ("match_downstream_format", "TEXT", 1, "'[]'", 0),
        ("match_downstreams", "TEXT", 1, "'[]'", 0), ("version", "INTEGER", 1, "1", 0),
        ("position", "INTEGER", 1, "0", 0)],
    "aliases": [
        ("id", "TEXT", 1, None, 1), ("input_model_id", "TEXT", 1, None, 0),
        ("downstream_id", "TEXT", 1, None, 0), ("output_model_id", "TEXT", 1, None, 0),
        ("is_active", "INTEGER", 1, "0", 0), ("created_at", "TEXT", 1, NOW, 0),
        ("is_regex", "INTEGER", 1, "0", 0), ("group_order", "INTEGER", 1, "0", 0),
        ("announced_names", "TEXT", 1, "'[]'", 0)],
    "sessions": [
        ("token", "TEXT", 1, None, 1), ("created_at", "TEXT", 1, NOW, 0), ("last_seen_at", "TEXT", 1, NOW, 0)],
    "settings": [("key", "TEXT", 1, None, 1), ("value", "TEXT", 1, "''", 0)],
    "usage_stats": [("bucket", "TEXT", 1, None, 1), ("downstream_id", "TEXT", 1, None, 2),
                    ("model", "TEXT", 1, None, 3)] + COUNTERS,
    "ip_usage_stats": [("bucket", "TEXT", 1, None, 1), ("client_ip", "TEXT", 1, None, 2)] + COUNTERS,
}

EXPECTED_INDEXES = {
    ("rules", "idx_rules_is_enabled", ("is_enabled",)),
    ("aliases", "idx_aliases_input_model_id", ("input_model_id",)),
    ("usage_stats", "idx_usage_stats_bucket", ("bucket",)),
    ("usage_stats", "idx_usage_stats_model", ("model",)),
}


@pytest.fixture
def fresh(tmp_path):
    connection = db.connect(str(tmp_path / "new.db"))
    yield connection
    connection.close()


def schema_sql(conn):
    return sorted(tuple(row) for row in conn.execute("SELECT type, name, sql FROM sqlite_master"))


def test_migrate_returns_and_records_the_latest_version(fresh):
    assert migrations.migrate(fresh) == len(migrations.MIGRATIONS) == 1
    assert fresh.execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.parametrize("table", sorted(EXPECTED_COLUMNS))
def test_empty_database_gets_every_column(fresh, table):
    migrations.migrate(fresh)
    columns = [(r["name"], r["type"], r["notnull"], r["dflt_value"], r["pk"])
               for r in fresh.execute("PRAGMA table_info(%s)" % table)]
    assert columns == EXPECTED_COLUMNS[table]


def test_empty_database_gets_exactly_the_expected_tables_and_indexes(fresh):
    migrations.migrate(fresh)
    tables = {r[0] for r in fresh.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    indexes = set()
    for row in fresh.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"):
        cols = tuple(r["name"] for r in fresh.execute("PRAGMA index_info(%s)" % row["name"]))
        indexes.add((row["tbl_name"], row["name"], cols))
    assert tables == set(EXPECTED_COLUMNS)
    assert indexes == EXPECTED_INDEXES


def test_migrating_twice_is_a_no_op(fresh):
    migrations.migrate(fresh)
    fresh.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')")
    before = schema_sql(fresh)
    assert migrations.migrate(fresh) == 1
    assert schema_sql(fresh) == before
    assert fresh.execute("SELECT value FROM settings").fetchone()[0] == "v"


def test_newer_user_version_is_refused(fresh):
    fresh.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="schema version 99 is newer"):
        migrations.migrate(fresh)
    assert fresh.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0


def test_failed_migration_rolls_back_and_keeps_version(fresh, monkeypatch):
    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", (broken,))
    with pytest.raises(sqlite3.OperationalError):
        migrations.migrate(fresh)
    assert fresh.execute("PRAGMA user_version").fetchone()[0] == 0
    assert fresh.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0


def test_go_tresor_database_is_adopted_keeping_its_rows(fresh):
    # The Go project's schema (reference §2): no position/version/last_seen_at/reasoning columns.
    fresh.execute("CREATE TABLE downstreams (id TEXT PRIMARY KEY, name TEXT NOT NULL, base_url TEXT NOT NULL,"
                  " api_key TEXT NOT NULL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,"
                  " api_formats TEXT DEFAULT '[]', format_urls TEXT DEFAULT '{}')")
    fresh.execute("CREATE TABLE sessions (token TEXT PRIMARY KEY, created_at DATETIME)")
    fresh.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
    fresh.execute("INSERT INTO downstreams (id, name, base_url, api_key) VALUES ('go', 'Go', 'http://x', 'k')")
    fresh.execute("INSERT INTO settings VALUES ('session_token', 'old')")
    migrations.migrate(fresh)
    row = fresh.execute("SELECT id, api_key, position FROM downstreams").fetchone()
    assert tuple(row) == ("go", "k", 0)
    assert "last_seen_at" in {r["name"] for r in fresh.execute("PRAGMA table_info(sessions)")}
    assert fresh.execute("SELECT COUNT(*) FROM settings").fetchone()[0] == 0
