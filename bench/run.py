#!/usr/bin/env python3
"""Tresor benchmark: one command that measures the gateway against local stubs and writes BENCHMARKS.md.

usage: python bench/run.py [--quick] [--duration S] [--no-litellm] [--before REF] [--out PATH]

What it does, all on 127.0.0.1, every process its own child (ended in `finally`, by pid):
1. installs wrk and nginx with apt-get when missing, and LiteLLM's proxy (pinned) into bench/.venv;
2. starts nginx as a canned upstream for all four API formats, the stdlib streaming stub
   (bench/stub_upstream.py), Tresor and LiteLLM with configs pointing at them;
3. the main case (OpenAI Chat, same format) with wrk at 1, 8, 32, 128 and 512 connections, straight
   at nginx, through Tresor and through LiteLLM, in turn at each point;
4. every client format × downstream format (4 same-format, 12 translated) at 1 connection, and one
   translated pair per client format at 32 connections, through both gateways;
5. streamed calls from each client format to the stream stub (TTFB, gaps between events), then
   1,000 long-lived streams held open at once;
6. RSS idle and after the load, cold-start time, tresor.pyz size; and the same main case through
   Tresor as of `--before` (the commit before the performance work) next to the current code;
7. writes the report (default BENCHMARKS.md at the repo root) with SPEC §7 verdicts.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402  (bench/ is a folder of scripts, not a package)
import measure  # noqa: E402
import report  # noqa: E402
from measure import Target  # noqa: E402
from peer import LITELLM_VERSION, PeerUnavailable, ensure_litellm, litellm_config, start_litellm  # noqa: E402
from procs import Procs, need_tool, rss_kib, rss_tree_kib  # noqa: E402
from services import ROOT, start_nginx, start_stream_stub, start_tresor, tresor_config  # noqa: E402
from startup import build_pyz, interpreter_time, startup_times  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".last-run.json")  # git-ignored
BEFORE_REF = "9c0dc7e"  # the last commit with the thread-per-connection server (before the event loop)
STREAM = {"events": 10, "delay_ms": 20.0}
STARTUP_RUNS = 5
PAIRS_AT_32 = (("openai", "anthropic"), ("openai_responses", "openai"), ("anthropic", "openai"),
               ("gemini", "openai"))


class Context:
    """What every measurement needs: wrk's path, the temp dir, and a progress printer."""

    def __init__(self, wrk, tmp):
        self.wrk, self.tmp = wrk, tmp

    @staticmethod
    def say(text):
        print(f"bench: {text}", file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short points, no 512-connection point")
    parser.add_argument("--duration", type=float, help="seconds per sweep point (default 10, 3 with --quick)")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM comparison")
    parser.add_argument("--before", default=BEFORE_REF, help="git ref to compare with ('none' to skip)")
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"), help="report path")
    parser.add_argument("--render", metavar="JSON", help="only re-render the report from a saved results file")
    args = parser.parse_args(argv)
    args.duration = max(1, int(round(args.duration or (3 if args.quick else 10))))
    args.matrix_duration = 2 if args.quick else 3
    args.stream_requests = 10 if args.quick else 20
    args.connections = [1, 8, 32, 128] if args.quick else [1, 8, 32, 128, 512]
    return args


def _on_signal(signum, frame):
    raise SystemExit(f"bench: stopped by signal {signum}")


def tool_version(argv):
    """First line a tool prints about its version (wrk exits 1 for -v, nginx writes to stderr)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    except OSError:
        return "unknown"
    lines = (done.stdout + done.stderr).strip().splitlines()
    first = lines[0].split(" Copyright")[0] if lines else "unknown"
    return first.replace("nginx version: ", "").strip()


def main(argv=None):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            return write_report(args.out, json.load(f))
    wrk = need_tool("wrk", ["wrk"])
    nginx = need_tool("nginx", ["nginx-light", "nginx"])
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    tmp = tempfile.mkdtemp(prefix="tresor-bench-")
    procs, ok = Procs(tmp), False
    try:
        results = run_all(args, Context(wrk, tmp), procs, nginx)
        ok = True
    except RuntimeError as exc:  # a server did not start or answer: say why, keep the logs
        Context.say(f"error: {exc}")
        return 1
    finally:
        procs.stop_all()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            Context.say(f"failed; logs kept in {tmp}")
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)
    return write_report(args.out, results)


def write_report(path, results):
    with open(path, "w") as f:
        f.write(report.render(results))
    Context.say(f"wrote {path} (raw results in {RESULTS}; re-render with --render)")
    return 0


def start_peer(args, ctx, procs, nginx_port, stub_port):
    """(Target or None, info dict): LiteLLM started against the same stubs, or why it is missing."""
    info = {"version": LITELLM_VERSION}
    if args.no_litellm:
        info["error"] = "skipped with --no-litellm"
        return None, info
    try:
        command = ensure_litellm(ctx.say)
        proc, port, seconds = start_litellm(procs, command, litellm_config(ctx.tmp, nginx_port, stub_port))
    except (PeerUnavailable, OSError, subprocess.SubprocessError) as exc:
        info["error"] = str(exc)
        ctx.say(f"LiteLLM unavailable: {exc}")
        return None, info
    time.sleep(2.0)
    info.update(startup_s=seconds, rss_idle_kib=rss_tree_kib(proc.pid), pid=proc.pid, proc=proc)
    ctx.say(f"LiteLLM {LITELLM_VERSION} :{port} (pid {proc.pid}), healthy after {seconds:.1f} s")
    return Target("litellm", port, proc.pid), info


def main_case(name):
    """OpenAI Chat same-format: the upstream's own request for 'direct', the gateway request otherwise."""
    return cases.upstream("openai") if name == "direct" else cases.request("openai", "gpt-bench")


def measure_before(args, ctx, procs, nginx_port, stub_port, tresor):
    """The main case through Tresor at `--before` and through the current Tresor, at 1 and 32 connections."""
    if args.before == "none":
        return None
    root = os.path.join(ctx.tmp, "before")
    os.makedirs(root)
    archive = subprocess.run(["git", "-C", ROOT, "archive", args.before], capture_output=True, timeout=60)
    if archive.returncode != 0:
        return {"ref": args.before, "error": archive.stderr.decode(errors="replace").strip()[:300]}
    subprocess.run(["tar", "-x", "-C", root], input=archive.stdout, check=True, timeout=60)
    config, port = tresor_config(ctx.tmp, "before", nginx_port, stub_port)
    old, _ = start_tresor(procs, config, port, name="tresor-before", root=root)
    targets = {"before": Target("before", port, old.pid), "tresor": tresor}
    out = measure.sweep(ctx, targets, main_case, [1, 32], args.duration, "before/after")
    out["ref"] = args.before
    procs.stop(old)
    out["startup"] = startup_times(procs, config, port, STARTUP_RUNS, root=root)
    return out


def measure_rest(args, ctx, procs, nginx_port, stub_port):
    """Cold starts (checkout and .pyz) and the .pyz size, after the load."""
    config, port = tresor_config(ctx.tmp, "startup", nginx_port, stub_port)
    startup = {"src": startup_times(procs, config, port, STARTUP_RUNS), "python": interpreter_time(STARTUP_RUNS),
               "src_nocache": startup_times(procs, config, port, STARTUP_RUNS, cached=False)}
    ctx.say("startup median from the checkout: {:.3f} s".format(startup["src"]["median"]))
    try:
        pyz, size = build_pyz(ctx.tmp)
    except RuntimeError as exc:  # report the rest; the .pyz row says why it is missing
        ctx.say(str(exc))
        return startup, None
    startup["pyz"] = startup_times(procs, config, port, STARTUP_RUNS, pyz=pyz)
    ctx.say("startup median from the .pyz: {:.3f} s; .pyz {:,} bytes".format(startup["pyz"]["median"], size))
    return startup, size


def run_all(args, ctx, procs, nginx):
    """Start the stubs and gateways, take every measurement, return the results dict for report.render."""
    results = {"machine": report.machine_info(), "command": shlex.join(["python", "bench/run.py"] + sys.argv[1:]),
               "options": {"duration": args.duration, "matrix_duration": args.matrix_duration,
                           "stream_requests": args.stream_requests, "stream": STREAM},
               "tresor_version": tool_version([sys.executable, os.path.join(ROOT, "tresor.py"), "version"]),
               "nginx_version": tool_version([nginx, "-v"]), "wrk_version": tool_version([ctx.wrk, "-v"]),
               "loadavg": [os.getloadavg()]}
    nginx_port = start_nginx(procs, nginx, ctx.tmp)
    stub_port = start_stream_stub(procs, STREAM["events"], STREAM["delay_ms"] / 1000)
    config, port = tresor_config(ctx.tmp, "tresor", nginx_port, stub_port)
    proc, _ = start_tresor(procs, config, port)
    ctx.say(f"nginx :{nginx_port}, stream stub :{stub_port}, Tresor :{port} (pid {proc.pid})")
    time.sleep(1.0)  # let startup work (DB upsert, threads) settle before reading idle RSS
    rss = {"idle": rss_kib(proc.pid)}
    tresor = Target("tresor", port, proc.pid)
    litellm, results["peer"] = start_peer(args, ctx, procs, nginx_port, stub_port)
    gateways = {"tresor": tresor, **({"litellm": litellm} if litellm else {})}
    direct = Target("direct", nginx_port)
    results["sweep"] = measure.sweep(ctx, {"direct": direct, **gateways}, main_case, args.connections,
                                     args.duration, "Chat same-format")
    results["matrix1"] = measure.matrix(ctx, gateways, direct, 1, args.matrix_duration)
    results["matrix32"] = measure.matrix(ctx, gateways, direct, 32, args.matrix_duration, PAIRS_AT_32)
    stub = Target("direct", stub_port)
    results["streams"] = measure.streams(ctx, {"direct": stub, **gateways}, args.stream_requests)
    results["open_streams"] = measure.open_streams(ctx, {"direct": stub, **gateways})
    rss.update(loaded=rss_kib(proc.pid), hwm=rss_kib(proc.pid, "VmHWM"))
    if litellm:
        results["peer"]["rss_loaded_kib"] = rss_tree_kib(litellm.pid)
        procs.stop(results["peer"].pop("proc"))
    results["rss"] = rss
    results["before"] = measure_before(args, ctx, procs, nginx_port, stub_port, tresor)
    procs.stop(proc)
    results["startup"], results["pyz_size"] = measure_rest(args, ctx, procs, nginx_port, stub_port)
    results["loadavg"].append(os.getloadavg())
    return results


if __name__ == "__main__":
    sys.exit(main())
