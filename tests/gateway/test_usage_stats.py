"""StatsRecorder: buffered entries reach SQLite through the single writer, cache tokens split out."""
from tresor.gateway.usage_stats import StatsRecorder
from tresor.store import Store, stats


def test_flush_writes_buffered_entries_with_input_excluding_cache(tmp_path):
    store = Store.open(str(tmp_path / "s.db"))
    recorder = StatsRecorder(store, interval_s=3600)
    try:
        recorder.add(0, "d1", "m", "10.0.0.1", {"input_tokens": 100, "output_tokens": 7, "cache_read_tokens": 60})
        recorder.add(0, "d1", "m", "", {"input_tokens": 10, "output_tokens": 1})
        assert recorder.flush() == 2
        store.write(lambda conn: None)  # the writer runs jobs in order: the stats batch is in
        rows = store.reader().execute("SELECT input_tokens, output_tokens, cache_read, request_count, "
                                      "cache_hit_count FROM usage_stats").fetchall()
        assert [tuple(r) for r in rows] == [(50, 8, 60, 2, 1)]
        ips = store.reader().execute("SELECT client_ip, request_count FROM ip_usage_stats").fetchall()
        assert [tuple(r) for r in ips] == [("10.0.0.1", 1)]
        assert stats.bucket_at(0) == "1970-01-01T00:00:00Z"
    finally:
        recorder.close()
        store.close()


def test_close_flushes_what_is_left(tmp_path):
    store = Store.open(str(tmp_path / "s.db"))
    recorder = StatsRecorder(store, interval_s=3600)
    recorder.add(0, "d", "m", "", {"output_tokens": 1})
    recorder.close()
    store.close()
    store = Store.open(str(tmp_path / "s.db"))
    try:
        assert store.reader().execute("SELECT SUM(request_count) FROM usage_stats").fetchone()[0] == 1
    finally:
        store.close()
