"""bench/ pure pieces: percentile maths, format cases, and the SPEC §7 verdicts of the report."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))

import cases  # noqa: E402  (bench/ is a folder of scripts)
import report  # noqa: E402
from streams import percentile  # noqa: E402


@pytest.mark.parametrize("values, pct, expected", [
    ([5], 50, 5), ([5], 99, 5), (list(range(1, 11)), 50, 5), (list(range(1, 11)), 90, 9),
    (list(range(1, 11)), 99, 10), (list(range(1, 101)), 99, 99), ([3, 1, 2], 0, 1), ([3, 1, 2], 100, 3),
])
def test_percentile_is_nearest_rank(values, pct, expected):
    assert percentile(values, pct) == expected


def test_every_client_format_builds_a_request_for_every_model():
    for client in cases.ORDER:
        for fmt in cases.ORDER:
            case = cases.request(client, cases.FORMATS[fmt][0])
            assert case.path.startswith("/v1") and case.body.isascii()
    assert cases.request("gemini", "m", stream=True).path == "/v1beta/models/m:streamGenerateContent?alt=sse"


def test_canned_replies_are_recognised_in_their_own_format():
    import json

    for fmt, reply in cases.REPLIES.items():
        assert cases.looks_right(fmt, json.dumps(reply, separators=(",", ":")))
    assert not cases.looks_right("anthropic", json.dumps(cases.REPLIES["openai"]))


def _row(connections, rps, p50, p99, errors=0):
    return {"connections": connections, "rps": rps, "p50": p50, "p90": p50, "p99": p99, "non2xx": errors,
            "socket_errors": 0, "cpu_us": 200.0}


def test_throughput_target_needs_rate_tail_and_no_errors():
    results = {"sweep": {"rows": {"tresor": [_row(32, 3500, 5, 19)]}}}
    assert report._target_throughput(results)[1] is True
    for row in (_row(32, 2999, 5, 19), _row(32, 3500, 5, 21), _row(32, 3500, 5, 19, errors=1)):
        assert report._target_throughput({"sweep": {"rows": {"tresor": [row]}}})[1] is False


def test_peer_target_needs_a_win_at_every_concurrency():
    rows = {"tresor": [_row(1, 100, 1, 2), _row(8, 100, 1, 2)], "litellm": [_row(1, 50, 2, 3), _row(8, 150, 2, 3)]}
    text, ok = report._target_peer({"sweep": {"rows": rows, "unavailable": {}}, "peer": {}})
    assert ok is False and "1: ×2.0" in text and "8: ×0.7" in text
    text, ok = report._target_peer({"sweep": {"rows": {"tresor": rows["tresor"]}, "unavailable": {}},
                                    "peer": {"error": "pip failed"}})
    assert ok is None and "pip failed" in text
