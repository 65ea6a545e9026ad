"""GET /api/stats: usage aggregates for the dashboard, from store/stats (reference §5.3).

Ranges are UTC calendar presets or `custom&from=YYYY-MM-DD&to=YYYY-MM-DD` (inclusive). Short
ranges (a day, or a custom range of at most 3 days) use hour buckets, longer ones day buckets;
the series has one point per bucket, zeros included, oldest first.
"""
from __future__ import annotations

import datetime
import re
from typing import Any, Dict, List, Optional, Tuple

from tresor.errors import ClientError
from tresor.httpio import Request
from tresor.store import downstreams, stats

__all__ = ["get", "resolve_range", "PRESETS"]

PRESETS = ("today", "yesterday", "last_7_days", "last_14_days", "last_4_weeks", "this_month", "last_month",
           "this_year", "last_year", "custom")
_DAY = datetime.timedelta(days=1)


def _preset(name: str, today: datetime.date) -> Optional[Tuple[datetime.date, datetime.date]]:
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - _DAY
    spans = {
        "today": (today, today),
        "yesterday": (today - _DAY, today - _DAY),
        "last_7_days": (today - 6 * _DAY, today),
        "last_14_days": (today - 13 * _DAY, today),
        "last_4_weeks": (today - 27 * _DAY, today),
        "this_month": (first_of_month, today),
        "last_month": (last_month_end.replace(day=1), last_month_end),
        "this_year": (today.replace(month=1, day=1), today),
        "last_year": (datetime.date(today.year - 1, 1, 1), datetime.date(today.year - 1, 12, 31)),
    }
    return spans.get(name)


def _date(query: Dict[str, str], name: str) -> datetime.date:
    raw = query.get(name)
    if not raw:
        raise ClientError("from and to are required for a custom range", 400)
    try:
        if not re.match(r"^\d{4}-\d\d-\d\d$", raw):  # strptime alone also takes 2025-3-1
            raise ValueError(raw)
        return datetime.datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ClientError("invalid %s date %r (use YYYY-MM-DD)" % (name, raw), 400) from None


def resolve_range(query: Dict[str, str], today: datetime.date) -> Tuple[datetime.date, datetime.date, str]:
    """`(first day, last day, "hour" | "day")` for the query's `range` (default last_7_days)."""
    name = query.get("range") or "last_7_days"
    if name == "custom":
        first, last = _date(query, "from"), _date(query, "to")
        if first > last:
            raise ClientError("from must not be after to", 400)
        return first, last, "hour" if (last - first).days < 3 else "day"
    span = _preset(name, today)
    if span is None:
        raise ClientError("unknown range preset %r (one of %s)" % (name, ", ".join(PRESETS)), 400)
    return span[0], span[1], "hour" if name in ("today", "yesterday") else "day"


def _counters(row: Dict[str, Any]) -> Dict[str, int]:
    return {"input_tokens": row["input_tokens"] or 0, "output_tokens": row["output_tokens"] or 0,
            "cache_creation_tokens": row["cache_creation"] or 0, "cache_read_tokens": row["cache_read"] or 0,
            "reasoning_tokens": row["reasoning_tokens"] or 0, "request_count": row["request_count"] or 0,
            "cache_hit_count": row["cache_hit_count"] or 0}


def _series(rows: List[Dict[str, Any]], first: datetime.date, last: datetime.date, size: str) -> List[dict]:
    points: Dict[str, Dict[str, int]] = {}
    day = first
    while day <= last:
        labels = (["%sT%02d:00:00Z" % (day.isoformat(), h) for h in range(24)] if size == "hour"
                  else [day.isoformat()])
        for label in labels:
            points[label] = {"input_tokens": 0, "output_tokens": 0, "request_count": 0}
        day += _DAY
    for row in rows:
        label = row["bucket"] if size == "hour" else row["bucket"][:10]
        point = points.get(label)
        if point is not None:
            for key in point:
                point[key] += row[key] or 0
    return [dict(bucket=label, **point) for label, point in points.items()]


def get(ctx, request: Request, params: dict) -> Dict[str, Any]:
    """GET /api/stats?range=…: totals, per model / provider / client IP, and the time series."""
    query = request.query_params()
    first, last, size = resolve_range(query, datetime.datetime.now(datetime.timezone.utc).date())
    conn = ctx.store.reader()
    data = stats.query(conn, "%sT00:00:00Z" % first.isoformat(), "%sT23:00:00Z" % last.isoformat())
    total = data["total"]
    names = {ds.id: ds.name for ds in downstreams.list_(conn)}
    cache_read, input_tokens = total["cache_read"], total["input_tokens"]
    return {
        "capture_payloads": ctx.config.capture_payloads,
        "range": {"from": first.isoformat(), "to": last.isoformat()},
        "bucket_size": size,
        "total": {"input_tokens": input_tokens, "output_tokens": total["output_tokens"],
                  "requests": total["request_count"],
                  "cache_hit_rate": cache_read / (input_tokens + cache_read) if cache_read else None},
        "models": [dict({"downstream_id": r["downstream_id"], "model": r["model"]}, **_counters(r))
                   for r in data["models"]],
        "providers": [dict({"downstream_id": r["downstream_id"], "name": names.get(r["downstream_id"])
                            or r["downstream_id"]}, **_counters(r)) for r in data["downstreams"]],
        "ips": [dict({"client_ip": r["client_ip"]}, **_counters(r)) for r in data["ips"]],
        "series": _series(data["buckets"], first, last, size),
    }
