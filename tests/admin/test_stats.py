"""/api/stats: range presets and custom ranges, aggregates by model / provider / IP, the zero-filled series."""
import datetime

import pytest

from tresor.admin.stats import resolve_range
from tresor.errors import ClientError
from tresor.store import stats

TODAY = datetime.date(2025, 3, 15)
D = datetime.date


@pytest.mark.parametrize("query, expected", [
    ({}, (D(2025, 3, 9), TODAY, "day")),
    ({"range": "today"}, (TODAY, TODAY, "hour")),
    ({"range": "yesterday"}, (D(2025, 3, 14), D(2025, 3, 14), "hour")),
    ({"range": "last_14_days"}, (D(2025, 3, 2), TODAY, "day")),
    ({"range": "last_4_weeks"}, (D(2025, 2, 16), TODAY, "day")),
    ({"range": "this_month"}, (D(2025, 3, 1), TODAY, "day")),
    ({"range": "last_month"}, (D(2025, 2, 1), D(2025, 2, 28), "day")),
    ({"range": "this_year"}, (D(2025, 1, 1), TODAY, "day")),
    ({"range": "last_year"}, (D(2024, 1, 1), D(2024, 12, 31), "day")),
    ({"range": "custom", "from": "2025-03-01", "to": "2025-03-03"}, (D(2025, 3, 1), D(2025, 3, 3), "hour")),
    ({"range": "custom", "from": "2025-03-01", "to": "2025-03-04"}, (D(2025, 3, 1), D(2025, 3, 4), "day")),
])
def test_ranges_resolve_to_utc_days_and_bucket_sizes(query, expected):
    assert resolve_range(query, TODAY) == expected


@pytest.mark.parametrize("query", [
    {"range": "fortnight"}, {"range": "custom", "from": "2025-03-01"},
    {"range": "custom", "from": "2025-3-1", "to": "2025-03-02"}, {"range": "custom", "from": "2025-03-05",
                                                                  "to": "2025-03-01"}])
def test_bad_ranges_are_400(query):
    with pytest.raises(ClientError) as caught:
        resolve_range(query, TODAY)
    assert caught.value.status == 400


def test_stats_aggregate_recorded_usage(api, gateway):
    now = datetime.datetime.now(datetime.timezone.utc)
    bucket = now.strftime("%Y-%m-%dT%H:00:00Z")
    gateway.app.store.write(stats.record, [
        {"bucket": bucket, "downstream_id": "one", "model": "m1", "client_ip": "10.0.0.1", "input_tokens": 100,
         "output_tokens": 10, "cache_read": 100},
        {"bucket": bucket, "downstream_id": "two", "model": "m2", "client_ip": "10.0.0.2", "input_tokens": 5,
         "output_tokens": 5}])
    body = api.get("/api/stats?range=today").json
    assert body["bucket_size"] == "hour" and body["range"] == {"from": now.date().isoformat(),
                                                               "to": now.date().isoformat()}
    assert body["total"] == {"input_tokens": 105, "output_tokens": 15, "requests": 2,
                             "cache_hit_rate": 100 / 205}
    assert [(m["model"], m["cache_read_tokens"], m["cache_hit_count"]) for m in body["models"]] == [
        ("m1", 100, 1), ("m2", 0, 0)]
    assert [(p["downstream_id"], p["name"]) for p in body["providers"]] == [("one", "One"), ("two", "Two")]
    assert [i["client_ip"] for i in body["ips"]] == ["10.0.0.1", "10.0.0.2"]
    assert len(body["series"]) == 24
    point = next(p for p in body["series"] if p["bucket"] == bucket)
    assert point == {"bucket": bucket, "input_tokens": 105, "output_tokens": 15, "request_count": 2}


def test_day_buckets_sum_hours_and_empty_stats_have_no_hit_rate(api):
    body = api.get("/api/stats").json
    assert body["bucket_size"] == "day" and len(body["series"]) == 7
    assert body["total"]["cache_hit_rate"] is None and body["models"] == []
    assert api.get("/api/stats?range=nope").status == 400
