"""RequestLog: bounded ring, ids, levels, newest-first reads, subscribers."""
from tresor.gateway.requestlog import RequestLog, level_of


def test_ring_is_bounded_and_newest_first():
    log = RequestLog(capacity=3)
    for i in range(5):
        log.record({"path": "/p%d" % i, "status": 200})
    assert [e["path"] for e in log.recent()] == ["/p4", "/p3", "/p2"]


def test_entries_below_the_level_are_dropped_but_ids_advance():
    log = RequestLog(level="warn")
    assert log.record({"status": 200}) is None
    kept = log.record({"status": 404})
    assert kept["id"] == 2 and [e["id"] for e in log.recent()] == [2]


def test_levels_follow_status_and_error_label():
    assert level_of({"status": 200}) == "info"
    assert level_of({"status": 429}) == "warn"
    assert level_of({"status": 502}) == "error"
    assert level_of({"status": 404, "error": "unknown model"}) == "error"
    assert level_of({"level": "debug", "status": 500}) == "debug"


def test_subscribers_get_new_entries_and_a_failing_one_does_not_break_logging():
    log = RequestLog()
    seen = []
    log.subscribe(lambda e: 1 / 0)
    unsubscribe = log.subscribe(seen.append)
    log.record({"status": 200})
    unsubscribe()
    log.record({"status": 200})
    assert len(seen) == 1 and seen[0]["timestamp"]
