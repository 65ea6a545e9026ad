"""The measurements of one run, each against a dict of targets {name: Target}.

A Target is one server under test on 127.0.0.1: nginx/the stub ("direct"), Tresor, LiteLLM, or the
"before" Tresor. Every function returns plain dicts for report.py; nothing here prints numbers that
were not measured in this run.
"""
import http.client
import time

import cases
from load import probe, run_wrk
from procs import rss_kib
from streams import concurrent_streams, sequential_streams, summarize

CONCURRENT_STREAMS = 1000


class Target:
    """A server under test: its port and, for gateways, its pid (for CPU time and RSS)."""

    def __init__(self, name, port, pid=None):
        self.name, self.port, self.pid = name, port, pid


def check(target, case):
    """None when `target` answers `case` with a success reply in the client's format, else the reason."""
    status, _, raw = probe(target.port, case)
    if status == 200 and cases.looks_right(case.client, raw):
        return None
    return f"HTTP {status}: {' '.join(raw.split())[:160]}"


def warm(target, case, count=20):
    """A few sequential requests, so lazy imports and first-use caches are not measured."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    try:
        for _ in range(count):
            conn.request("POST", case.path, body=case.body.encode(), headers=case.headers)
            conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        pass
    finally:
        conn.close()


def _row(label, row):
    cpu = "" if row.get("cpu_us") is None else f" cpu {row['cpu_us']:.0f} us/req"
    return (f"{label} {row['rps']:,.0f} req/s p50 {row['p50']:.3f} p99 {row['p99']:.3f} ms "
            f"errors {row['non2xx']}/{row['socket_errors']}{cpu}")


def sweep(ctx, targets, case_for, connections, duration, label):
    """wrk at each connection count against each target in turn; {target: [row per count]} + failures.

    `case_for(target_name)` gives the request for that target (direct gets the upstream's own
    request). A target whose probe fails is skipped with its reason in `unavailable`.
    """
    out = {"rows": {name: [] for name in targets}, "unavailable": {}}
    for name, target in targets.items():
        reason = check(target, case_for(name))
        if reason:
            out["unavailable"][name] = reason
            out["rows"].pop(name)
            ctx.say(f"{label}: {name} not measured ({reason})")
            continue
        warm(target, case_for(name))
        run_wrk(ctx.wrk, ctx.tmp, target.port, case_for(name), 8, 1)  # warm-up at some concurrency
    for conns in connections:
        for name in out["rows"]:
            target = targets[name]
            row = run_wrk(ctx.wrk, ctx.tmp, target.port, case_for(name), conns, duration, target.pid)
            out["rows"][name].append(row)
            ctx.say(f"{label} c={conns}: " + _row(name, row))
    return out


def matrix(ctx, gateways, direct, connections, duration, pairs=None):
    """Client format × downstream format (all 16, or `pairs`) through each gateway, at `connections`.

    Returns {"connections", "direct": {fmt: row}, "pairs": {"client|fmt": {gateway: row or reason}}}.
    """
    pairs = pairs or [(client, fmt) for client in cases.ORDER for fmt in cases.ORDER]
    out = {"connections": connections, "direct": {}, "pairs": {}}
    for fmt in cases.ORDER:
        if any(target == fmt for _, target in pairs):
            case = cases.upstream(fmt)
            warm(direct, case)
            out["direct"][fmt] = run_wrk(ctx.wrk, ctx.tmp, direct.port, case, connections, duration)
    for client, fmt in pairs:
        case = cases.request(client, cases.FORMATS[fmt][0])
        cell = out["pairs"][f"{client}|{fmt}"] = {}
        for name, target in gateways.items():
            reason = check(target, case)
            if reason:
                cell[name] = reason
                continue
            warm(target, case)
            cell[name] = run_wrk(ctx.wrk, ctx.tmp, target.port, case, connections, duration, target.pid)
            ctx.say(f"{cases.pair_label(client, fmt)} c={connections}: " + _row(name, cell[name]))
    return out


def streams(ctx, targets, requests):
    """TTFB and gaps for a streamed call from each client format to the OpenAI stream stub.

    {client: {target: summary or reason}}; "direct" is the stub itself (OpenAI client only).
    """
    out = {}
    for client in cases.ORDER:
        case = cases.request(client, "gpt-stream", stream=True)
        chosen, out[client] = {}, {}
        for name, target in targets.items():
            if name == "direct":
                chosen[name] = (target.port, cases.request("openai", "gpt-stream", stream=True))
                continue
            status, _, raw = probe(target.port, case, timeout=10)
            if status == 200:
                chosen[name] = (target.port, case)
            else:
                out[client][name] = f"HTTP {status}: {' '.join(raw.split())[:160]}"
        for name, r in sequential_streams(chosen, requests).items():
            out[client][name] = summarize(r)
        ctx.say(f"streams {client}: " + ", ".join(f"{k} TTFB p50 {v['ttfb_p50']:.3f} ms"
                                                   for k, v in out[client].items() if isinstance(v, dict)))
    return out


def open_streams(ctx, targets):
    """Hold CONCURRENT_STREAMS streams open at once against each target (sampling gateway RSS)."""
    out = {}
    for name, target in targets.items():
        peak = [0]

        def sample(pid=target.pid):
            if pid:
                peak[0] = max(peak[0], rss_kib(pid) or 0)

        path = "/hold/v1/chat/completions" if name == "direct" else "/v1/chat/completions"
        out[name] = concurrent_streams(target.port, path, "gpt-hold", CONCURRENT_STREAMS, on_tick=sample)
        out[name]["rss_peak_kib"] = peak[0] or None
        ctx.say("{} concurrent streams: {peak} peak, {completed} completed, {errors} errors".format(
            name, **out[name]))
        time.sleep(1.0)
    return out
