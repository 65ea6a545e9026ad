"""Hourly usage counters: `usage_stats` (per downstream and model) and `ip_usage_stats` (per client IP).

Plain functions taking `conn` first; rows come back as plain dicts. Buckets are UTC hours
written `YYYY-MM-DDTHH:00:00Z`, so text comparison is time comparison (reference §2, §3.18).
Batching is the caller's job: `record` takes a list and is meant for `Store.submit`.
"""
from __future__ import annotations

import sqlite3
import time
from typing import Dict, Iterable, List

__all__ = ["TOKENS", "COUNTERS", "bucket_at", "record", "purge_before", "query"]

# Counters summed per row, in column order; request_count and cache_hit_count are derived.
TOKENS = ("input_tokens", "output_tokens", "cache_creation", "cache_read", "reasoning_tokens")
COUNTERS = TOKENS + ("request_count", "cache_hit_count")

_ADD = ", ".join("%s = %s + excluded.%s" % (c, c, c) for c in COUNTERS)
_USAGE_SQL = ("INSERT INTO usage_stats (bucket, downstream_id, model, %s) VALUES (?, ?, ?, %s)"
              " ON CONFLICT(bucket, downstream_id, model) DO UPDATE SET %s"
              % (", ".join(COUNTERS), ", ".join("?" * len(COUNTERS)), _ADD))
_IP_SQL = ("INSERT INTO ip_usage_stats (bucket, client_ip, %s) VALUES (?, ?, %s)"
           " ON CONFLICT(bucket, client_ip) DO UPDATE SET %s"
           % (", ".join(COUNTERS), ", ".join("?" * len(COUNTERS)), _ADD))


def bucket_at(time_ms: int) -> str:
    """Return the hour bucket holding epoch-milliseconds `time_ms`, e.g. 2025-01-31T09:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time_ms // 1000))


def _counts(entry: dict) -> tuple:
    tokens = tuple(int(entry.get(name) or 0) for name in TOKENS)
    requests = entry.get("request_count")
    if requests is None:  # one request
        return tokens + (1, 1 if tokens[3] > 0 else 0)
    return tokens + (int(requests), int(entry.get("cache_hit_count") or 0))


def record(conn: sqlite3.Connection, entries: Iterable[dict]) -> int:
    """Add a batch of finished-request entries to the counters; return how many were recorded.

    Each entry has `bucket`, `downstream_id`, `model`, `client_ip` and the TOKENS counts
    (missing counts are 0). An entry is one request (adds 1 to request_count, and 1 to
    cache_hit_count when cache_read > 0) unless it carries `request_count` and `cache_hit_count`,
    the sums of several requests of the same row (the gateway pre-aggregates between flushes).
    The per-IP row is skipped when client_ip is empty.
    """
    usage_rows, ip_rows = [], []
    for entry in entries:
        counts = _counts(entry)
        usage_rows.append((entry["bucket"], entry.get("downstream_id") or "", entry.get("model") or "") + counts)
        if entry.get("client_ip"):
            ip_rows.append((entry["bucket"], entry["client_ip"]) + counts)
    conn.executemany(_USAGE_SQL, usage_rows)
    conn.executemany(_IP_SQL, ip_rows)
    return len(usage_rows)


def purge_before(conn: sqlite3.Connection, bucket: str) -> int:
    """Delete rows of both tables whose bucket is older than `bucket`; return the rows deleted."""
    usage = conn.execute("DELETE FROM usage_stats WHERE bucket < ?", (bucket,)).rowcount
    return usage + conn.execute("DELETE FROM ip_usage_stats WHERE bucket < ?", (bucket,)).rowcount


def _sums(table: str, keys: str, where: str, order: str) -> str:
    sums = ", ".join("SUM(%s) AS %s" % (c, c) for c in COUNTERS)
    group = " GROUP BY %s" % keys if keys else ""
    select = keys + ", " if keys else ""
    order = " ORDER BY %s" % order if order else ""
    return "SELECT %s%s FROM %s WHERE %s%s%s" % (select, sums, table, where, group, order)


def query(conn: sqlite3.Connection, from_bucket: str, to_bucket: str) -> Dict[str, object]:
    """Return totals for buckets in [from_bucket, to_bucket] (both inclusive) as plain dicts.

    Keys: `total` (one dict of COUNTERS, zeros when empty); `models` (downstream_id, model),
    `downstreams` (downstream_id) and `ips` (client_ip), each ordered by input + output
    tokens descending; `buckets` (bucket) ascending. Every row carries all COUNTERS.
    """
    where = "bucket >= ? AND bucket <= ?"
    args = (from_bucket, to_bucket)
    busiest = "input_tokens + output_tokens DESC"

    def rows(table: str, keys: str, order: str) -> List[dict]:
        return [dict(row) for row in conn.execute(_sums(table, keys, where, order), args)]

    total = rows("usage_stats", "", "")[0]
    return {
        "total": {name: total[name] or 0 for name in COUNTERS},
        "models": rows("usage_stats", "downstream_id, model", busiest + ", downstream_id, model"),
        "downstreams": rows("usage_stats", "downstream_id", busiest + ", downstream_id"),
        "ips": rows("ip_usage_stats", "client_ip", busiest + ", client_ip"),
        "buckets": rows("usage_stats", "bucket", "bucket"),
    }
