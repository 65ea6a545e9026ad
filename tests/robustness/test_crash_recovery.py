"""kill -9 in the middle of writes: config.yaml still parses and validates, the database passes
`PRAGMA integrity_check`, and every admin change that was acknowledged (2xx) survives the restart.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.robustness import support
from tests.support import ROOT, Daemon, basic_config, write_config
from tresor import config as config_io

WRITERS = 4


def _hammer(url, writer, stop, acked, deleted, deleting):
    """Create downstreams (and delete every third one just created) until the daemon dies.

    `acked`/`deleted` get the ids whose create/delete was answered 2xx; `deleting` every id a
    DELETE was sent for (one in flight at the kill may or may not have happened).
    """
    previous = None
    for i in range(100000):
        if stop.is_set():
            return
        ds_id = "w%d-%d" % (writer, i)
        body = {"id": ds_id, "name": "W %d %d" % (writer, i), "base_url": "http://127.0.0.1:9/%d" % i,
                "api_formats": ["openai"], "output_model_ids": ["m-%s" % ds_id]}
        try:
            if support.call(url, "POST", "/api/downstreams", body, timeout=5).status == 201:
                acked.add(ds_id)
            if i % 3 == 2 and previous in acked:
                deleting.add(previous)
                if support.call(url, "DELETE", "/api/downstreams/" + previous, timeout=5).status in (200, 204):
                    deleted.add(previous)
        except OSError:
            return  # the daemon was killed
        previous = ds_id


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kill_after_s", [0.7, 1.3, 2.1])
def test_kill_9_during_config_write_back_loses_no_acknowledged_change(tmp_path, kill_after_s):
    path = write_config(tmp_path, "# the user's own comment stays\nbind_addr: 127.0.0.1:0  # and this one\n"
                        "db_path: %s\n" % os.path.join(str(tmp_path), "tresor.db"))
    daemon = Daemon(path).start()
    acked, deleted, deleting, stop = set(), set(), set(), threading.Event()
    threads = [threading.Thread(target=_hammer, args=(daemon.url, w, stop, acked, deleted, deleting), daemon=True)
               for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    time.sleep(kill_after_s)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(10)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(acked) >= 5, "too few writes before the kill to prove anything"

    config = config_io.load(path)  # parses and validates, or raises
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "# the user's own comment stays" in text and "# and this one" in text
    in_yaml = {ds.id for ds in config.downstreams}
    assert acked - deleting <= in_yaml, sorted(acked - deleting - in_yaml)
    assert not (deleted & in_yaml), sorted(deleted & in_yaml)
    _assert_db_ok(os.path.join(str(tmp_path), "tresor.db"))

    restarted = Daemon(path).start()
    try:
        status, listed = restarted.get_json("/api/downstreams")
        served = {ds["id"] for ds in (listed if isinstance(listed, list) else listed.get("downstreams", []))}
        assert status == 200 and acked - deleting <= served, sorted(acked - deleting - served)
        assert not (deleted & served), sorted(deleted & served)
    finally:
        restarted.kill()
    leftovers = [n for n in os.listdir(str(tmp_path)) if n.startswith(".tresor-config.")]
    support.record("crash_config_%s" % kill_after_s, {"acked_creates": len(acked), "acked_deletes": len(deleted),
                                                      "temp_files_left": len(leftovers)})


def _assert_db_ok(db_path):
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return conn.execute("SELECT COALESCE(SUM(request_count), 0) FROM usage_stats").fetchone()[0]
    finally:
        conn.close()


# A process that writes usage statistics as fast as it can, through the daemon's own recorder and
# store (flushing every 5 ms instead of every 60 s), until it is killed.
STATS_WRITER = textwrap.dedent("""
    import sys, threading, time
    sys.path.insert(0, sys.argv[2])
    from tresor.store import Store
    from tresor.gateway.usage_stats import StatsRecorder
    store = Store.open(sys.argv[1])
    recorder = StatsRecorder(store, interval_s=0.005)
    def feed(n):
        for i in range(10 ** 9):
            recorder.add(int(time.time() * 1000) - i % 50 * 3600000, "ds%d" % (i % 7), "model-%d" % (i % 13),
                         "10.0.%d.%d" % (n, i % 200), {"input_tokens": 10, "output_tokens": 5})
    for n in range(3):
        threading.Thread(target=feed, args=(n,), daemon=True).start()
    while not store.reader().execute("SELECT COUNT(*) FROM usage_stats").fetchone()[0]:
        time.sleep(0.05)  # the first rows are committed: writes are under way
    print("writing", flush=True)
    time.sleep(60)
""")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kill_after_s", [0.4, 0.9, 1.6])
def test_kill_9_during_stats_writes_leaves_a_valid_database(tmp_path, kill_after_s):
    db_path = os.path.join(str(tmp_path), "tresor.db")
    proc = subprocess.Popen([sys.executable, "-c", STATS_WRITER, db_path, ROOT], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    counted = _assert_db_ok(db_path)
    assert counted > 0, "no stats reached the database before the kill"
    # The daemon starts on it (migrations, WAL recovery) and serves the stats.
    config = basic_config(tmp_path, "")
    daemon = Daemon(config).start()
    try:
        status, _ = daemon.get_json("/api/stats")
        assert status == 200
    finally:
        daemon.kill()
    assert _assert_db_ok(db_path) >= counted
    support.record("crash_stats_%s" % kill_after_s, {"requests_counted_before_kill": counted})


@pytest.mark.timeout(60)
def test_sigterm_flushes_buffered_usage_stats_before_exit(tmp_path):
    # Usage is summed in memory for up to 60 s; a graceful stop must write it, a kill -9 may lose it.
    from tests.support import FakeUpstream

    upstream = FakeUpstream()
    daemon = support.start_daemon(tmp_path, "", upstream.url)
    try:
        for _ in range(25):
            upstream.enqueue(200, support.UPSTREAM_TEXT["openai"])
            assert support.generate(daemon.url, "openai").status == 200
        assert _assert_db_ok(os.path.join(str(tmp_path), "tresor.db")) == 0  # still buffered
        assert daemon.stop(signal.SIGTERM) == 0
    finally:
        daemon.kill()
        upstream.close()
    assert _assert_db_ok(os.path.join(str(tmp_path), "tresor.db")) == 25


def test_a_save_removes_temp_files_a_crash_left_behind(tmp_path):
    # kill -9 between writing the temp file and the rename leaves a full copy of the config (keys
    # included); the next save removes copies over a minute old and never a save in progress.
    path = basic_config(tmp_path, "")
    stale, fresh = (os.path.join(str(tmp_path), ".tresor-config.%s.tmp" % n) for n in ("crash1", "busy2"))
    for name in (stale, fresh):
        with open(name, "w") as f:
            f.write("api_key: sk-left-behind\n")
    os.utime(stale, (time.time() - 120, time.time() - 120))
    config_io.save(config_io.load(path), path)
    assert not os.path.exists(stale)
    assert os.path.exists(fresh)
