#!/usr/bin/env python3
"""Side costs of two features on the gateway path, measured against the same nginx stub as bench/run.py.

usage: python bench/side_costs.py [--rounds N] [--duration S] [--out bench/side_costs.md]

1. Rules that do not match: Tresor with no rules vs. Tresor with 40 enabled rules whose patterns miss
   the benchmark request (other paths, other models, other downstreams), each carrying plugins. The two
   daemons run side by side and wrk alternates between them (A B A B …) at 1 connection, so drift in
   machine load hits both equally; the report gives each round and the median difference in p50.
2. The live log stream: a paced client sends 200 requests/s for a few seconds while a subscriber reads
   `GET /api/logs/stream`; we count how many of the requests arrived as log events, how late the last one
   came, and compare the paced requests' latency with and without the subscriber.
Everything runs on 127.0.0.1; every wait has a deadline; processes are ended in `finally`.
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from load import Case, probe, run_wrk  # noqa: E402
from procs import Procs, need_tool  # noqa: E402
from services import HERE, start_nginx, start_tresor, tresor_config  # noqa: E402

PACED_RPS = 200
CHAT = {"model": "gpt-bench", "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello."}]}
CASE = Case("openai", "/v1/chat/completions", CHAT, {"Authorization": "Bearer bench"})


def missing_rules(count):
    """YAML lines for `count` enabled rules that never match the benchmark request."""
    lines = ["rules:"]
    for i in range(count):
        lines += [f"  - id: miss-{i}", f"    name: never matches {i}"]
        kind = i % 4
        if kind == 0:
            lines.append("    pattern_path: /v1/messages")
        elif kind == 1:
            lines += ["    pattern_path: '*'", f"    pattern_models: ['^other-model-{i}$', 'claude-.*-{i}']"]
        elif kind == 2:
            lines += ["    pattern_path: '*'", "    match_downstreams: [bench-anthropic]"]
        else:
            lines += ["    pattern_path: '*'", "    match_format: [gemini]"]
        lines += ["    pipeline_config:", "      - plugin_id: custom_header", "        config:",
                  "          headers:", f"            X-Rule: r{i}", "      - plugin_id: remove_thinking",
                  "    is_enabled: true"]
    return lines


def with_rules(path, count):
    with open(path, "a") as f:
        f.write("\n".join(missing_rules(count)) + "\n")


def pipeline_overhead(args, procs, tmp, wrk, nginx_port):
    """Alternate wrk runs over two daemons (0 rules, 40 missing rules); return the rounds."""
    plain_cfg, plain_port = tresor_config(tmp, "plain", nginx_port, nginx_port)
    ruled_cfg, ruled_port = tresor_config(tmp, "ruled", nginx_port, nginx_port)
    with_rules(ruled_cfg, 40)
    start_tresor(procs, plain_cfg, plain_port, "tresor-plain")
    start_tresor(procs, ruled_cfg, ruled_port, "tresor-ruled")
    for port in (plain_port, ruled_port):
        status, _, raw = probe(port, CASE)
        if status != 200:
            raise RuntimeError(f"Tresor answered {status}: {raw[:200]}")
        run_wrk(wrk, tmp, port, CASE, 1, 1)  # warm-up
    rounds = []
    for _ in range(args.rounds):
        plain = run_wrk(wrk, tmp, plain_port, CASE, 1, args.duration)
        ruled = run_wrk(wrk, tmp, ruled_port, CASE, 1, args.duration)
        rounds.append((plain, ruled))
    return rounds


def match_cost(tmp, nginx_port, count=40, calls=100_000):
    """In-process: microseconds per `pipeline.match` call with no rules and with `count` missing rules."""
    sys.path.insert(0, os.path.dirname(HERE))
    from tresor import config as tresor_config_module
    from tresor.gateway import pipeline
    path, _ = tresor_config(tmp, "match", nginx_port, nginx_port)
    with_rules(path, count)
    cfg = tresor_config_module.load(path)
    compiled = pipeline.compile_rules([(rule, 1) for rule in cfg.rules])
    downstream = next(d for d in cfg.downstreams if d.id == "bench-openai")
    route = SimpleNamespace(downstream=downstream, model="gpt-bench", alias_group=None)
    x = SimpleNamespace(request=SimpleNamespace(path=CASE.path), route=route, model="gpt-bench",
                        client_format="openai")
    out = {}
    for label, rules in (("no rules", ()), (f"{count} rules", compiled)):
        assert pipeline.match(rules, x) == (), "a benchmark rule matched; it must not"
        began = time.perf_counter()
        for _ in range(calls):
            pipeline.match(rules, x)
        out[label] = (time.perf_counter() - began) / calls * 1e6
    return out


def paced_requests(port, seconds, latencies, errors):
    """Send PACED_RPS requests/s over two keep-alive connections for `seconds`; record latencies (ms)."""
    def worker(offset):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        step = 2.0 / PACED_RPS
        start = time.monotonic() + offset
        for n in range(int(seconds * PACED_RPS / 2)):
            delay = start + n * step - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            try:
                conn.request("POST", CASE.path, body=CASE.body.encode(), headers=CASE.headers)
                resp = conn.getresponse()
                resp.read()
                (latencies if resp.status == 200 else errors).append((time.perf_counter() - began) * 1000)
            except OSError:
                errors.append(0.0)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.close()
    threads = [threading.Thread(target=worker, args=(i / PACED_RPS,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)


class LogReader(threading.Thread):
    """Reads /api/logs/stream; counts `event: log` entries and notes when the last one arrived."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.ids, self.last_at, self.error = port, set(), 0.0, None
        self.ready = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/api/logs/stream")
            resp = conn.getresponse()
            event = None
            while True:
                line = resp.readline()
                if not line:
                    return
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "config":
                        self.ready.set()
                elif line.startswith("data: ") and event == "log":
                    self.ids.add(json.loads(line[6:]).get("id"))
                    self.last_at = time.monotonic()
                elif line.startswith("data: ") and event == "error":
                    self.error = line[6:]
        except OSError as exc:
            self.error = self.error or f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()


def log_stream_cost(args, procs, tmp, nginx_port):
    """Paced load without, then with, a live log subscriber; return the measurements."""
    cfg, port = tresor_config(tmp, "logs", nginx_port, nginx_port)
    with open(cfg) as f:  # request entries are info-level; the bench config logs warn and above
        text = f.read().replace("log_level: warn", "log_level: info")
    with open(cfg, "w") as f:
        f.write(text)
    start_tresor(procs, cfg, port, "tresor-logs")
    result = {}
    for label in ("without subscriber", "with subscriber"):
        latencies, errors = [], []
        reader = None
        if label == "with subscriber":
            reader = LogReader(port)
            reader.start()
            if not reader.ready.wait(10):
                raise RuntimeError("the log stream sent no `config` event within 10 s")
            reader.ids.clear()  # count only entries logged from here on
        sent_end = None
        paced_requests(port, args.paced_seconds, latencies, errors)
        sent_end = time.monotonic()
        row = {"sent": len(latencies) + len(errors), "errors": len(errors),
               "p50": statistics.median(latencies), "p99": _pct(latencies, 99)}
        if reader:
            deadline = time.monotonic() + 5
            while len(reader.ids) < row["sent"] and time.monotonic() < deadline:
                time.sleep(0.05)
            row.update(received=len(reader.ids), lag_ms=max(0.0, (reader.last_at - sent_end) * 1000),
                       stream_error=reader.error)
        result[label] = row
    return result


def _pct(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def render(matching, rounds, logs, args):
    """The Markdown report."""
    out = ["# Side costs: rules that do not match, and the live log stream", "",
           f"Generated by `python bench/side_costs.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
           f"load average at the end {os.getloadavg()[0]:.2f} (2 cores; other work may share them).", "",
           "## Pipeline overhead with 40 enabled rules that do not match", "",
           f"wrk, 1 connection, {args.duration} s per point, the two daemons alternated. Latencies in ms.", "",
           "| round | p50 no rules | p50 40 rules | difference | req/s no rules | req/s 40 rules |",
           "|---:|---:|---:|---:|---:|---:|"]
    diffs = []
    for i, (plain, ruled) in enumerate(rounds, 1):
        diffs.append(ruled["p50"] - plain["p50"])
        out.append(f"| {i} | {plain['p50']:.3f} | {ruled['p50']:.3f} | {diffs[-1]:+.3f} | "
                   f"{plain['rps']:,.0f} | {ruled['rps']:,.0f} |")
    spread = statistics.pstdev([r[0]["p50"] for r in rounds])
    out += ["", f"Median difference {statistics.median(diffs):+.3f} ms; the no-rules p50 itself varies by "
                f"±{spread:.3f} ms (std. dev.) between rounds.", "",
            "In process, the only per-request work rules add is `pipeline.match` over the compiled rules "
            "(compiled once per rule version, no regex compiled per request): " +
            "; ".join(f"{label}: {us:.2f} µs per request" for label, us in matching.items()) + ".", "",
            f"## Live log stream at {PACED_RPS} requests/s", "",
            f"A paced client sends {PACED_RPS} req/s for {args.paced_seconds} s over 2 keep-alive connections.", "",
            "| run | requests | errors | p50 ms | p99 ms | log events received | last event after the last reply |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for label, row in logs.items():
        got = f"{row['received']} of {row['sent']}" if "received" in row else "–"
        lag = f"{row['lag_ms']:.0f} ms" if "lag_ms" in row else "–"
        out.append(f"| {label} | {row['sent']} | {row['errors']} | {row['p50']:.3f} | {row['p99']:.3f} | "
                   f"{got} | {lag} |")
    error = logs["with subscriber"].get("stream_error")
    out += ["", f"Stream error: {error}" if error else "The stream reported no error (it was never dropped).", ""]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/side_costs.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk point")
    parser.add_argument("--paced-seconds", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(HERE, "side_costs.md"))
    args = parser.parse_args(argv)
    wrk = need_tool("wrk", ["wrk"])
    nginx = need_tool("nginx", ["nginx-light", "nginx"])
    tmp = tempfile.mkdtemp(prefix="tresor-side-")
    procs = Procs(tmp)
    try:
        nginx_port = start_nginx(procs, nginx, tmp)
        matching = match_cost(tmp, nginx_port)
        rounds = pipeline_overhead(args, procs, tmp, wrk, nginx_port)
        logs = log_stream_cost(args, procs, tmp, nginx_port)
    finally:
        procs.stop_all()
    shutil.rmtree(tmp, ignore_errors=True)
    text = render(matching, rounds, logs, args)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
