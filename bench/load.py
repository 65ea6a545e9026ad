"""Closed-loop HTTP load with wrk: POST a JSON body over keep-alive connections, read latency percentiles.

wrk gets a generated Lua script that sets method, body and headers, and whose `done()` hook prints one
`BENCHJSON {…}` line with the totals and the 50/90/99th latency percentiles in microseconds, so nothing
is scraped from wrk's human-readable output. Threads = min(2, connections) (the machine has 2 cores).
When the server's pid is given, its CPU time (process and children, from /proc) over the run is
divided by the requests served: CPU microseconds per request, which other load on the machine
disturbs much less than throughput or latency.
"""
import http.client
import json
import os
import subprocess

from procs import cpu_seconds

LUA = """wrk.method = "POST"
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"mean":%.1f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


class Case:
    """One kind of request: the path, JSON body and headers a client sends (see also cases.Case)."""

    def __init__(self, name, path, body, headers=None):
        self.name, self.path, self.body = name, path, json.dumps(body, separators=(",", ":"))
        self.headers = dict({"Content-Type": "application/json"}, **(headers or {}))

    def lua(self):
        return lua(self)


def lua(case):
    """The wrk script for `case` (json.dumps output is a valid Lua string literal for ASCII text)."""
    assert case.body.isascii()
    headers = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in case.headers.items())
    return LUA.format(body=json.dumps(case.body), headers=headers)


def probe(port, case, timeout=5.0):
    """Send the case once with http.client; return (status, parsed JSON body or None, raw text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", case.path, body=case.body.encode(), headers=case.headers)
        resp = conn.getresponse()
        raw = resp.read()
    except OSError as exc:
        return 0, None, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw), raw.decode("utf-8", "replace")
    except ValueError:
        return resp.status, None, raw.decode("utf-8", "replace")


def run_wrk(wrk_bin, tmp, port, case, connections, duration, pid=None):
    """One wrk run; returns a dict with rps, p50/p90/p99/max in ms, non2xx, socket_errors, cpu_us."""
    script = os.path.join(tmp, "wrk-%s.lua" % "".join(c if c.isalnum() else "_" for c in case.name))
    with open(script, "w") as f:
        f.write(lua(case))
    argv = [wrk_bin, "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{duration}s",
            "--timeout", "5s", "--latency", "-s", script, f"http://127.0.0.1:{port}{case.path}"]
    cpu_before = cpu_seconds(pid) if pid else None
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    cpu = cpu_seconds(pid) - cpu_before if pid else None
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result (exit {out.returncode}): {out.stderr.strip()[:500]}")
    raw = json.loads(line[len("BENCHJSON "):])
    seconds = raw["duration_us"] / 1e6
    return {
        "connections": connections, "requests": raw["requests"],
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50": raw["p50"] / 1000, "p90": raw["p90"] / 1000, "p99": raw["p99"] / 1000,
        "max": raw["max"] / 1000, "non2xx": raw["status"],
        "socket_errors": raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        "socket_detail": {k: raw[k] for k in ("connect", "read", "write", "timeout") if raw[k]},
        "cpu_us": cpu * 1e6 / raw["requests"] if cpu is not None and raw["requests"] else None,
    }
