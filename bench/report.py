"""Turn one run's results into BENCHMARKS.md: machine, command, a table per measurement, SPEC §7 targets.

Every number printed comes from the `results` dict filled by run.py during this run; the only
constants here are the targets themselves (SPEC.md §7). Two hand-written parts are included as
they are: the profiling narrative (bench/fixes.md) and, at the end, the reliability and security
campaign's figures (bench/robustness.md, written with tests/robustness/), after the side costs of rules
and the live log stream (bench/side_costs.md, written by bench/side_costs.py).
"""
import datetime
import os
import platform

from cases import FORMATS, ORDER, pair_label

MIB = 1024
HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"direct": "direct (stub)", "tresor": "Tresor", "litellm": "LiteLLM", "before": "Tresor before"}


def machine_info():
    """CPU model, core count, memory, Python version, kernel and the UTC date of this run."""
    cpu, mem = "unknown", None
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        cpu = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), cpu)
        if " hypervisor" in info:
            cpu += " (virtual machine)"
        with open("/proc/meminfo") as f:
            mem = int(next(l for l in f if l.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_mib": mem, "python": platform.python_version(),
            "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def ms(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


def _verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def _at(rows, connections):
    return next((r for r in rows or [] if r["connections"] == connections), None)


def _errors(row):
    return row["non2xx"] + row["socket_errors"]


def _err_text(row):
    detail = ", ".join(f"{kind} {count}" for kind, count in row.get("socket_detail", {}).items())
    return f"{row['non2xx']} / {row['socket_errors']}" + (f" ({detail})" if detail else "")


def _pair_added(matrix, client, fmt, gateway="tresor"):
    row = matrix["pairs"].get(f"{client}|{fmt}", {}).get(gateway)
    direct = matrix["direct"].get(fmt)
    if not isinstance(row, dict) or not direct:
        return None
    return row["p50"] - direct["p50"]


def _target_added(results, same):
    m = results["matrix1"]
    pairs = [(c, f) for c in ORDER for f in ORDER if (c == f) == same]
    added = {p: _pair_added(m, *p) for p in pairs}
    missing = [pair_label(*p) for p, v in added.items() if v is None]
    known = {p: v for p, v in added.items() if v is not None}
    if not known:
        return "not measured", None
    worst = max(known, key=known.get)
    text = f"worst {pair_label(*worst)} {known[worst]:+.3f} ms over {len(known)} pairs"
    if same:
        main = results["sweep"]["rows"]
        t, d = _at(main.get("tresor"), 1), _at(main.get("direct"), 1)
        if t and d:
            text = f"Chat → Chat (sweep) {t['p50'] - d['p50']:+.3f} ms; " + text
    if missing:
        text += f"; not served: {', '.join(missing)}"
    return text, known[worst] <= (0.5 if same else 1.0) and not missing


def _target_throughput(results):
    t = _at(results["sweep"]["rows"].get("tresor"), 32)
    if not t:
        return "not measured", None
    text = f"{t['rps']:,.0f} req/s, p99 {t['p99']:.2f} ms, {_errors(t)} errors"
    return text, t["rps"] >= 3000 and t["p99"] <= 20 and _errors(t) == 0


def _target_ttfb(results, translated):
    added = {}
    for client, per in results["streams"].items():
        t, d = per.get("tresor"), per.get("direct")
        if (client != "openai") == translated and isinstance(t, dict) and isinstance(d, dict):
            added[client] = t["ttfb_p50"] - d["ttfb_p50"]
    if not added:
        return "not measured", None
    worst = max(added, key=added.get)
    text = ", ".join(f"{FORMATS[c][1]} → Chat {v:+.3f} ms" for c, v in added.items())
    return text + " (p50)", added[worst] <= 1.0


def _target_streams(results):
    c = results.get("open_streams", {}).get("tresor")
    if not c:
        return "not measured", None
    text = (f"{c['peak']} open at once of {c['requested']}, {c['completed']} completed, "
            f"{c['errors']} errors, {c['unfinished']} unfinished")
    return text, c["peak"] == c["requested"] and c["completed"] == c["requested"] and not c["errors"]


def _startup_text(results):
    st = results["startup"]
    text = f"{st['src']['median']:.3f} s"
    extra = [f"{st[k]['median']:.3f} s {label}" for k, label in
             (("src_nocache", "without a bytecode cache"), ("pyz", "from the .pyz")) if st.get(k)]
    return text + (f" ({'; '.join(extra)})" if extra else "")


def _target_pyz(size):
    if size is None:
        return "build.py failed (see the run's output)", None
    return f"{size:,} bytes", size <= 500_000


def _target_peer(results):
    rows = results["sweep"]["rows"]
    if "litellm" not in rows:
        reason = results["sweep"]["unavailable"].get("litellm") or results["peer"].get("error", "not run")
        return f"LiteLLM not measured: {reason}", None
    pairs = [(t, _at(rows["litellm"], t["connections"])) for t in rows["tresor"]]
    wins = [t["rps"] > l["rps"] and t["p50"] < l["p50"] for t, l in pairs if l]
    ratios = ", ".join(f"{t['connections']}: ×{t['rps'] / l['rps']:.1f}" for t, l in pairs if l and l["rps"])
    tails = [t["connections"] for t, l in pairs if l and t["p99"] >= l["p99"]]
    text = f"req/s Tresor ÷ LiteLLM by connections: {ratios}; req/s and p50 both better at {sum(wins)} of {len(pairs)} points"
    if tails:
        text += f" (p99 not lower at {', '.join(map(str, tails))} connections)"
    return text, all(wins) and len(wins) == len(pairs)


def targets(results):
    """[(target, measured, PASS/MISS/n/a)] for every SPEC §7 target."""
    st, rss = results["startup"]["src"], results["rss"]
    rows = [("added latency p50, same-format, 1 connection ≤ 0.5 ms", *_target_added(results, True)),
            ("added latency p50, translated, 1 connection ≤ 1 ms", *_target_added(results, False)),
            ("≥ 3,000 req/s at 32 connections, p99 ≤ 20 ms, 0 errors", *_target_throughput(results)),
            ("time to first streamed byte ≤ 1 ms over the upstream's, same format", *_target_ttfb(results, False)),
            ("time to first streamed byte ≤ 1 ms over the upstream's, translated", *_target_ttfb(results, True)),
            ("1,000 concurrent open streams", *_target_streams(results)),
            ("startup ≤ 0.3 s (median, `python tresor.py run`, bytecode cached)", _startup_text(results),
             st["median"] <= 0.3),
            ("idle RSS ≤ 30 MiB", f"{rss['idle'] / MIB:.1f} MiB", rss["idle"] <= 30 * MIB),
            ("tresor.pyz ≤ 500 KB (500,000 bytes)", *_target_pyz(results["pyz_size"])),
            ("faster than LiteLLM at every concurrency (req/s and p50)", *_target_peer(results))]
    return [(name, text, _verdict(ok)) for name, text, ok in rows]


def sweep_tables(sweep):
    """Throughput and latency tables, one row per connection count, one column group per target."""
    rows, names = sweep["rows"], [n for n in ("direct", "tresor", "litellm") if n in sweep["rows"]]
    gateways = [n for n in names if n != "direct"]
    head = ["conns"] + [f"{NAMES[n]} req/s" for n in names]
    if "litellm" in rows:
        head.append("Tresor ÷ LiteLLM")
    head += [f"{NAMES[n]} CPU µs/req" for n in gateways] + [f"errors {NAMES[n]}" for n in gateways]
    lat = ["conns"] + [f"p50 {NAMES[n]}" for n in names] + [f"added p50 {NAMES[n]}" for n in gateways]
    lat += [f"p90 {NAMES[n]}" for n in names] + [f"p99 {NAMES[n]}" for n in names]
    out_t, out_l = [_head(head)], [_head(lat)]
    for d in rows["direct"]:
        c = d["connections"]
        r = {n: _at(rows[n], c) for n in names}
        cells = [str(c)] + [f"{r[n]['rps']:,.0f}" for n in names]
        if "litellm" in rows:
            cells.append(f"×{r['tresor']['rps'] / r['litellm']['rps']:.1f}" if r["litellm"]["rps"] else "n/a")
        cells += [ms(r[n].get("cpu_us"), 0) for n in gateways] + [_err_text(r[n]) for n in gateways]
        out_t.append(_line(cells))
        cells = [str(c)] + [ms(r[n]["p50"]) for n in names] + [f"**{ms(r[n]['p50'] - d['p50'])}**" for n in gateways]
        cells += [ms(r[n]["p90"]) for n in names] + [ms(r[n]["p99"]) for n in names]
        out_l.append(_line(cells))
    return "\n".join(out_t) + "\n\nLatency in ms (wrk's percentiles; *added* = gateway − direct):\n\n" + "\n".join(out_l) + "\n"


def _head(cells, numeric=True):
    align = "---:" if numeric else "---"
    return "| " + " | ".join(cells) + " |\n|" + "|".join("---" if i == 0 else align for i in range(len(cells))) + "|"


def _line(cells):
    return "| " + " | ".join(cells) + " |"


def matrix_grid(matrix, gateway):
    """Client format (rows) × downstream format (columns): added p50 in ms and req/s."""
    out = [_head(["client ↓ / downstream →"] + [FORMATS[f][1] for f in ORDER])]
    for client in ORDER:
        cells = [FORMATS[client][1]]
        for fmt in ORDER:
            row = matrix["pairs"].get(f"{client}|{fmt}", {}).get(gateway)
            if isinstance(row, dict):
                cells.append(f"{_pair_added(matrix, client, fmt, gateway):+.3f} ms · {row['rps']:,.0f}/s")
            else:
                cells.append("not served" if row else "—")
        out.append(_line(cells))
    return "\n".join(out) + "\n"


def matrix_detail(matrix, gateways):
    """One row per measured pair: direct and per-gateway numbers, or the reason a gateway failed."""
    head = ["pair", "direct p50"]
    for g in gateways:
        head += [f"{NAMES[g]} req/s", f"{NAMES[g]} p50", f"{NAMES[g]} p99", f"{NAMES[g]} added p50",
                 f"{NAMES[g]} CPU µs/req", f"{NAMES[g]} errors"]
    out, notes = [_head(head)], []
    for key, cell in matrix["pairs"].items():
        client, fmt = key.split("|")
        d = matrix["direct"].get(fmt)
        cells = [pair_label(client, fmt), ms(d["p50"]) if d else "n/a"]
        for g in gateways:
            row = cell.get(g)
            if isinstance(row, dict):
                cells += [f"{row['rps']:,.0f}", ms(row["p50"]), ms(row["p99"]), ms(row["p50"] - d["p50"]),
                          ms(row.get("cpu_us"), 0), _err_text(row)]
            else:
                cells += ["not served"] + [""] * 5
                notes.append(f"* {NAMES[g]}, {pair_label(client, fmt)}: {row}")
        out.append(_line(cells))
    return "\n".join(out) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def streams_table(streams):
    head = ["client format", "target", "TTFB p50", "TTFB p99", "added TTFB p50", "gap p50", "gap p99",
            "gap max", "duration p50", "events"]
    out, notes = [_head(head)], []
    for client, per in streams.items():
        direct = per.get("direct")
        for name, s in per.items():
            if not isinstance(s, dict):
                notes.append(f"* {NAMES[name]}, {FORMATS[client][1]} client: {s}")
                continue
            if name != "direct" and s["events"] < direct["events"] // 2:
                notes.append(f"* {NAMES[name]}, {FORMATS[client][1]} client: the stream ended after {s['events']} "
                             f"event(s) (the stub sends {direct['events']}); first event: `{s.get('first', '')[:160]}`")
            added = "" if name == "direct" else ms(s["ttfb_p50"] - direct["ttfb_p50"])
            out.append(_line([FORMATS[client][1], NAMES[name], ms(s["ttfb_p50"]), ms(s["ttfb_p99"]), added,
                              ms(s["gap_p50"]), ms(s["gap_p99"]), ms(s["gap_max"]), ms(s["duration_p50"], 1),
                              str(s["events"])]))
    return "\n".join(out) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def open_streams_table(c):
    out = [_head(["target", "requested", "peak open at once", "time to peak (s)", "completed", "errors",
                  "unfinished", "wall (s)", "peak RSS"])]
    for name, r in c.items():
        peak_at = "n/a" if r["peak_at"] is None else f"{r['peak_at']:.2f}"
        rss = "" if not r.get("rss_peak_kib") else f"{r['rss_peak_kib'] / MIB:.1f} MiB"
        out.append(_line([NAMES[name], str(r["requested"]), str(r["peak"]), peak_at, str(r["completed"]),
                          str(r["errors"]), str(r["unfinished"]), f"{r['wall']:.1f}", rss]))
    return "\n".join(out) + "\n"


def startup_table(results):
    out = [_head(["what", "value"])]
    for key, label in (("src", "`python tresor.py run`, bytecode cached (Python's default)"),
                       ("src_nocache", "`python tresor.py run`, PYTHONDONTWRITEBYTECODE=1 (compiles every start)"),
                       ("pyz", "`python tresor.pyz run` (zipimport: compiles every start)")):
        st = results["startup"].get(key)
        if st:
            out.append(_line([f"Tresor startup, {label}, {st['runs']} runs: min / median / max",
                              f"{st['min']:.3f} / {st['median']:.3f} / {st['max']:.3f} s"]))
    if results["startup"].get("python") is not None:
        out.append(_line(["interpreter alone, `python -c pass` (median of 5, for reference)",
                          f"{results['startup']['python']:.3f} s"]))
    rss, peer = results["rss"], results["peer"]
    out.append(_line(["Tresor idle RSS after startup (VmRSS)", f"{rss['idle'] / MIB:.1f} MiB"]))
    out.append(_line(["Tresor RSS after the load (VmRSS)", f"{rss['loaded'] / MIB:.1f} MiB"]))
    out.append(_line(["Tresor peak RSS over the run (VmHWM)", f"{rss['hwm'] / MIB:.1f} MiB"]))
    size = results["pyz_size"]
    out.append(_line(["tresor.pyz size (`build.py`)", "build failed" if size is None else f"{size:,} bytes"]))
    if peer.get("startup_s") is not None:
        out.append(_line([f"LiteLLM {peer['version']} startup to /health/liveliness (1 start)",
                          f"{peer['startup_s']:.2f} s"]))
        out.append(_line(["LiteLLM idle RSS after startup (process tree)", f"{peer['rss_idle_kib'] / MIB:.1f} MiB"]))
        if peer.get("rss_loaded_kib"):
            out.append(_line(["LiteLLM RSS after the load (process tree)",
                              f"{peer['rss_loaded_kib'] / MIB:.1f} MiB"]))
    return "\n".join(out) + "\n"


def before_table(before):
    if before is None:
        return "Skipped (`--before none`).\n"
    if "error" in before:
        return f"Could not check out `{before['ref']}`: {before['error']}\n"
    rows = before["rows"]
    out = [_head(["conns", "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "CPU µs/req", "errors"])]
    for name in ("before", "tresor"):
        for r in rows.get(name, []):
            label = f"Tresor at `{before['ref']}`" if name == "before" else "Tresor now"
            out.append(_line([str(r["connections"]), label, f"{r['rps']:,.0f}", ms(r["p50"]), ms(r["p90"]),
                              ms(r["p99"]), ms(r.get("cpu_us"), 0), _err_text(r)]))
    st = before.get("startup")
    text = "\n".join(out) + "\n"
    if st:
        text += f"\nStartup of Tresor at `{before['ref']}` in this run: median {st['median']:.3f} s.\n"
    return text


def _included(name, demote=0):
    """A hand-written part of the report (bench/<name>), headings moved `demote` levels down; "" if absent."""
    try:
        with open(os.path.join(HERE, name)) as f:
            text = f.read()
    except OSError:
        return ""
    if demote:
        text = "\n".join("#" * demote + line if line.startswith("#") else line for line in text.splitlines())
    return text.rstrip() + "\n"


HOW = """## How it is measured

* **Stubs.** nginx (one worker, no access log) answers each format's endpoint with a canned JSON reply
  (`return 200 '…'`): `/v1/chat/completions`, `/v1/responses`, `/v1/messages` and
  `/v1beta/models/…:generateContent`. `bench/stub_upstream.py` (stdlib, HTTP/1.1, TCP_NODELAY) streams
  {events} OpenAI chunks {delay_ms:.0f} ms apart, and 40 chunks 250 ms apart under `/hold` for the
  concurrency test. *direct* is the same request sent straight to the stub, in the downstream's format.
* **Tresor** runs from the checkout as shipped (`python tresor.py run --config …`, default log level)
  with one downstream per format (`gpt-bench` Chat, `resp-bench` Responses, `claude-bench` Messages,
  `gemini-bench` Gemini) on nginx, and `gpt-stream`/`gpt-hold` on the stream stub. A client of format A
  asking for the model of format B is the translated pair A → B.
* **LiteLLM** runs its proxy as shipped (`litellm --config … --num_workers 1`, uvicorn) from a venv made
  by the script, with the same models on the same stubs; its model cost map is read locally and
  uvicorn's access log is off (Tresor has no per-request log line either).
* **Load.** wrk, {duration} s per sweep point and {matrix_duration} s per matrix cell, threads =
  min(2, connections), keep-alive, `--timeout 5s`; at each point the targets run one after another.
  Latency is wrk's (closed loop; client, gateways and stubs share the same {cores} cores, so throughput
  is a floor, not a ceiling). *CPU µs/req* is the gateway process's user+system CPU time over the run
  divided by the requests served (less sensitive to other load than req/s). "errors" = non-2xx/3xx
  responses / socket errors (connect, read, write, timeout).
* **Streams.** {stream_requests} streamed requests per client format and target on one keep-alive
  connection, round-robin over the targets; TTFB = request sent → first `data:` line; gaps between
  consecutive `data:` lines (a translated stream may emit several client events per upstream event,
  so its gap p50 can be near 0); duration = request sent → last `data:` line.
* **Startup** = spawn → first 200 from `/api/health` (polled every 5 ms), same config and database each
  time. RSS from `/proc/<pid>/status`. The .pyz is built by `build.py --output` into the run's temp dir.
"""


def render(results):
    """The whole BENCHMARKS.md text."""
    m, opts, load = results["machine"], results["options"], results["loadavg"]
    peer = results["peer"]
    parts = ["# Tresor benchmarks\n",
             "Generated by `bench/run.py` — every number below is from one run of it; rerun to refresh.\n",
             f"* **Command:** `{results['command']}`",
             f"* **Date:** {m['date']}",
             f"* **Machine:** {m['cpu']}, {m['cores']} cores, {m['mem_mib'] or '?'} MiB RAM, Linux {m['kernel']}, "
             f"Python {m['python']}",
             "* **Other load:** load average (1/5/15 min) {} at the start, {} at the end; the run itself adds "
             "about 2, more means other processes shared the cores and the numbers are pessimistic".format(
                 *("/".join(f"{v:.2f}" for v in la) for la in load)),
             f"* **Versions:** {results['tresor_version']}; LiteLLM {peer['version']}; {results['nginx_version']}; "
             f"{results['wrk_version']}\n",
             "## SPEC §7 targets\n", _head(["target", "measured", "verdict"], numeric=False)]
    parts += [_line([name, text, f"**{verdict}**"]) for name, text, verdict in targets(results)]
    parts += ["", "## Tresor vs LiteLLM: OpenAI Chat Completions, same format, concurrency sweep\n",
              "`POST /v1/chat/completions`, model `gpt-bench` → Chat downstream → nginx.\n"]
    if peer.get("error"):
        parts.append(f"**LiteLLM could not be measured:** {peer['error']}\n")
    parts += [f"* {NAMES[k]} not measured: {v}" for k, v in results["sweep"]["unavailable"].items()]
    parts.append(sweep_tables(results["sweep"]))
    gateways = [g for g in ("tresor", "litellm") if g == "tresor" or not peer.get("error")]
    for key in ("matrix1", "matrix32"):
        matrix = results[key]
        c = matrix["connections"]
        parts.append(f"## Format pairs at {c} connection{'s' if c > 1 else ''}\n")
        if key == "matrix1":
            parts.append("Added p50 latency over the downstream format's direct p50, and req/s; rows are the "
                         "client's format, columns the downstream's (diagonal: same format, no translation).\n")
            for g in gateways:
                parts += [f"**{NAMES[g]}**\n", matrix_grid(matrix, g)]
        parts.append(matrix_detail(matrix, gateways))
    parts += ["## Streaming: time to first event and gaps between events\n",
              "Each client format streams from the OpenAI stream stub (`gpt-stream`), so every row but Chat is "
              "translated. Times in ms.\n", streams_table(results["streams"]),
              "## Concurrent open streams\n",
              "1,000 streamed requests (model `gpt-hold`: 40 events 250 ms apart, about 10 s each) opened 100 at a "
              "time every 50 ms from one client thread; a stream counts as open from its first event until "
              "`[DONE]`.\n", open_streams_table(results["open_streams"]),
              "## Startup, memory, size\n", startup_table(results),
              "## Profiling and fixes\n",
              "Measured in this run: the main case through Tresor as of the `--before` commit (by default the "
              "last one with the thread-per-connection server) and through the current code, one after the "
              "other on the same stub.\n",
              before_table(results.get("before")), _included("fixes.md"),
              HOW.format(cores=m["cores"], **opts, **opts["stream"]),
              _included("side_costs.md", demote=1), _included("robustness.md", demote=1)]
    return "\n".join(parts)
