"""Cold-start time and artifact size.

Startup: spawn the daemon `runs` times (same config and database, so only the first run creates the
schema) and time from spawning the process to the first 200 from /api/health, polled every 5 ms.
By default Python caches compiled modules in __pycache__ (git-ignored); `cached=True` measures that
normal case (one unmeasured start writes the cache first), `cached=False` sets
PYTHONDONTWRITEBYTECODE=1 so every start compiles every module from source, as an environment with
that variable set (this machine sets it) does. A .pyz always compiles: zipimport writes no cache.
The .pyz is built with `build.py --output` into the temp dir (the build is reproducible, so it is the
same bytes as dist/tresor.pyz), leaving the work tree untouched.
"""
import os
import statistics
import subprocess
import sys
import time

from procs import rss_kib, wait_health
from services import ROOT, tresor_argv


def startup_times(procs, config_path, port, runs, pyz=None, root=ROOT, cached=True):
    """Seconds from spawn to healthy for each of `runs` fresh daemons, and each one's RSS in KiB."""
    env = dict(os.environ)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    times, rss = [], []
    for index in range(runs + (1 if cached and not pyz else 0)):
        start = time.monotonic()
        name = f"startup-{'pyz' if pyz else 'src'}-{os.path.basename(root)}-{'c' if cached else 'n'}{index}"
        proc = procs.spawn(name, tresor_argv(config_path, pyz, root), env=env)
        try:
            wait_health(port, proc, timeout=15.0, interval=0.005)
            if index or not cached or pyz:  # the first cached start only writes __pycache__
                times.append(time.monotonic() - start)
                rss.append(rss_kib(proc.pid))
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- tresor output ---\n{procs.log_tail(proc)}") from None
        finally:
            procs.stop(proc)
    return {"runs": len(times), "cached": cached and not pyz, "min": min(times),
            "median": statistics.median(times), "max": max(times),
            "rss_kib": statistics.median(rss) if all(rss) else None}


def interpreter_time(runs):
    """Median seconds for `python -c pass`: the interpreter's own start, the floor under any startup."""
    times = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        times.append(time.monotonic() - start)
    return statistics.median(times)


def build_pyz(tmp):
    """Run build.py into `tmp`; return (path, size in bytes)."""
    out = os.path.join(tmp, "tresor.pyz")
    done = subprocess.run([sys.executable, os.path.join(ROOT, "build.py"), "--output", out], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"build.py failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return out, os.path.getsize(out)
