"""Connections, the writer thread and thread-local readers (store/db.py and the Store facade)."""
import logging
import sqlite3
import threading
import time

import pytest

from tresor.errors import ConfigError
from tresor.store import Store, db, migrations


def insert_setting(conn, key, value="v"):
    conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, value))
    return key


def count_settings(conn):
    return conn.execute("SELECT COUNT(*) FROM settings").fetchone()[0]


def fail_after_insert(conn):
    insert_setting(conn, "doomed")
    raise ValueError("nope")


def test_connect_sets_the_pragmas(tmp_path):
    conn = db.connect(str(tmp_path / "p.db"))
    pragmas = {name: conn.execute("PRAGMA %s" % name).fetchone()[0]
               for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 0, "synchronous": 1}
    assert conn.isolation_level is None
    assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)
    conn.close()


def test_connect_creates_a_missing_parent_directory(tmp_path):
    path = tmp_path / "a" / "b" / "tresor.db"
    db.connect(str(path)).close()
    assert path.is_file()


def test_path_under_a_regular_file_raises_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as info:
        Store.open(str(blocker / "tresor.db"))
    assert str(info.value).startswith("cannot open database %s: " % (blocker / "tresor.db"))
    assert info.value.hint


def test_reader_connection_is_query_only(store):
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        insert_setting(store.reader(), "k")


def test_write_returns_the_functions_result(store):
    assert store.write(insert_setting, "k") == "k"
    assert count_settings(store.reader()) == 1


def test_write_reraises_in_the_caller_and_rolls_back(store):
    with pytest.raises(ValueError, match="nope"):
        store.write(fail_after_insert)
    assert count_settings(store.reader()) == 0
    assert store.write(insert_setting, "after") == "after"


def test_writes_from_8_threads_serialize(store):
    store.write(insert_setting, "n", "0")

    def increment(conn):
        value = int(conn.execute("SELECT value FROM settings WHERE key = 'n'").fetchone()[0])
        conn.execute("UPDATE settings SET value = ? WHERE key = 'n'", (str(value + 1),))

    def worker():
        for _ in range(25):
            store.write(increment)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert store.reader().execute("SELECT value FROM settings WHERE key = 'n'").fetchone()[0] == "200"


def test_readers_in_other_threads_see_committed_data(store):
    seen = {}

    def read():
        seen["count"] = count_settings(store.reader())
        seen["conn"] = store.reader()

    store.write(insert_setting, "k")
    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=10)
    assert seen["count"] == 1
    assert seen["conn"] is not store.reader()


def test_submit_logs_errors_instead_of_raising(store, caplog):
    with caplog.at_level(logging.ERROR, logger="tresor.store.db"):
        store.submit(fail_after_insert)
        store.write(insert_setting, "barrier")
    assert "fail_after_insert failed" in caplog.text
    assert count_settings(store.reader()) == 1


def test_close_drains_queued_work(tmp_path):
    path = str(tmp_path / "drain.db")
    opened = Store.open(path)
    opened.submit(lambda conn: time.sleep(0.05))
    for index in range(50):
        opened.submit(insert_setting, "k%d" % index)
    opened.close()
    conn = db.connect(path)
    assert count_settings(conn) == 50
    conn.close()


def test_close_is_idempotent_and_later_writes_raise(store):
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.write(insert_setting, "k")
    with pytest.raises(RuntimeError, match="closed"):
        store.reader()


def test_call_from_the_writer_thread_raises_instead_of_deadlocking(tmp_path):
    conn = db.connect(str(tmp_path / "w.db"))
    migrations.migrate(conn)
    writer = db.Writer(conn)
    with pytest.raises(RuntimeError, match="deadlock"):
        writer.call(lambda c: writer.call(insert_setting, "k"))
    writer.close()


def test_store_open_refuses_a_newer_schema(tmp_path):
    path = str(tmp_path / "future.db")
    conn = db.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(ConfigError, match="newer than this Tresor"):
        Store.open(path)
