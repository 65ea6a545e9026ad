"""store/stats.py: hourly counters per downstream/model and per client IP."""
from tresor.store import stats

H9 = "2025-01-31T09:00:00Z"
H10 = "2025-01-31T10:00:00Z"


def entry(bucket=H9, model="m", ip="10.0.0.1", **counts):
    return dict(bucket=bucket, downstream_id="ds", model=model, client_ip=ip, **counts)


def rows(conn, table):
    return [dict(r) for r in conn.execute("SELECT * FROM %s ORDER BY rowid" % table)]


def test_bucket_at_truncates_to_the_utc_hour():
    assert stats.bucket_at(1738314345678) == H9  # 2025-01-31T09:05:45.678Z


def test_record_adds_counters_for_the_same_key(conn):
    assert stats.record(conn, [entry(input_tokens=10, output_tokens=2), entry(input_tokens=5, reasoning_tokens=3)]) == 2
    assert rows(conn, "usage_stats") == [dict(
        bucket=H9, downstream_id="ds", model="m", input_tokens=15, output_tokens=2, cache_creation=0,
        cache_read=0, reasoning_tokens=3, request_count=2, cache_hit_count=0)]


def test_cache_hit_is_counted_only_when_cache_read_is_positive(conn):
    stats.record(conn, [entry(cache_read=7), entry(cache_read=0, cache_creation=4), entry(cache_read=1)])
    row = rows(conn, "usage_stats")[0]
    assert (row["cache_read"], row["cache_creation"], row["cache_hit_count"]) == (8, 4, 2)


def test_ip_row_is_written_only_for_a_non_empty_client_ip(conn):
    stats.record(conn, [entry(ip="", input_tokens=1), entry(ip=None), entry(ip="::1", output_tokens=4)])
    assert [(r["client_ip"], r["output_tokens"], r["request_count"]) for r in rows(conn, "ip_usage_stats")] == [
        ("::1", 4, 1)]
    assert rows(conn, "usage_stats")[0]["request_count"] == 3


def test_purge_before_deletes_older_buckets_from_both_tables(conn):
    stats.record(conn, [entry(bucket="2024-01-31T09:00:00Z"), entry(bucket=H9), entry(bucket=H10)])
    assert stats.purge_before(conn, H9) == 2
    assert [r["bucket"] for r in rows(conn, "usage_stats")] == [H9, H10]
    assert [r["bucket"] for r in rows(conn, "ip_usage_stats")] == [H9, H10]


def test_query_groups_totals_within_inclusive_bounds(conn):
    stats.record(conn, [
        entry(bucket=H9, model="small", input_tokens=1, ip="a"),
        entry(bucket=H10, model="big", input_tokens=100, cache_read=5, ip="b"),
        entry(bucket=H10, model="small", output_tokens=2, ip="a"),
        entry(bucket="2025-01-31T11:00:00Z", model="outside", input_tokens=1000),
    ])
    result = stats.query(conn, H9, H10)
    assert result["total"]["input_tokens"] == 101 and result["total"]["request_count"] == 3
    busiest = [(m["model"], m["input_tokens"] + m["output_tokens"]) for m in result["models"]]
    assert busiest == [("big", 100), ("small", 3)]
    assert [(d["downstream_id"], d["request_count"]) for d in result["downstreams"]] == [("ds", 3)]
    assert [(i["client_ip"], i["cache_hit_count"]) for i in result["ips"]] == [("b", 1), ("a", 0)]
    assert [(b["bucket"], b["request_count"]) for b in result["buckets"]] == [(H9, 1), (H10, 2)]


def test_query_of_an_empty_range_gives_zero_totals_and_empty_lists(conn):
    result = stats.query(conn, H9, H10)
    assert result["total"] == {name: 0 for name in stats.COUNTERS}
    assert result["models"] == result["downstreams"] == result["ips"] == result["buckets"] == []
