"""Process and socket helpers for the benchmark: free ports, readiness polls, RSS, clean shutdown.

Every process the benchmark starts goes through `Procs.spawn`, so `Procs.stop_all` (called from a
`finally` and from the SIGTERM/SIGINT handler) can end exactly those processes, by pid, and no others.
All waits are bounded by a deadline.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    """Block until 127.0.0.1:`port` accepts a TCP connection; raise if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


def http_status(port, method="GET", path="/api/health", timeout=1.0):
    """The status 127.0.0.1:`port` answers to `method path` right now, or 0 when it does not answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def health_ok(port):
    """True when GET /api/health on 127.0.0.1:`port` answers 200 right now."""
    return http_status(port) == 200


def wait_health(port, proc, timeout=15.0, interval=0.005):
    """Poll /api/health every `interval` s; return seconds waited; raise if `proc` dies or time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"tresor exited with code {proc.returncode} before /api/health answered")
        if health_ok(port):
            return time.monotonic() - start
        time.sleep(interval)
    raise RuntimeError(f"tresor /api/health did not answer within {timeout:.0f} s")


def rss_kib(pid, field="VmRSS"):
    """`field` (VmRSS or VmHWM) of process `pid` in KiB, from /proc/<pid>/status; None if unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_tree_kib(pid):
    """VmRSS of `pid` plus its descendants, in KiB (shared pages counted once per process)."""
    values = [rss_kib(one) for one in [pid] + _descendants(pid)]
    return sum(v for v in values if v) or None


def _descendants(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        return out
    for child in list(out):
        out.extend(_descendants(child))
    return out


def cpu_seconds(pid):
    """User + system CPU seconds used so far by process `pid` and its descendants (from /proc)."""
    ticks = 0
    for one in [pid] + _descendants(pid):
        try:
            with open(f"/proc/{one}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def need_tool(binary, packages):
    """Return the path of `binary`, installing the first available Debian package from `packages`."""
    path = shutil.which(binary)
    if path:
        return path
    if not shutil.which("apt-get"):
        raise SystemExit(f"bench: {binary} is missing and apt-get is not available; install {packages[0]}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"bench: installing {binary} with apt-get ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=300, check=False)
    for package in packages:
        done = subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, timeout=600,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        path = shutil.which(binary) or (os.path.exists(f"/usr/sbin/{binary}") and f"/usr/sbin/{binary}")
        if done.returncode == 0 and path:
            return path
    raise SystemExit(f"bench: could not install {binary} (tried apt-get install {' '.join(packages)})")


class Procs:
    """The processes this benchmark started; stop_all() ends them by pid (TERM, then KILL)."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.running = []

    def spawn(self, name, argv, cwd=None, env=None):
        """Start `argv` with stdout/stderr in <logdir>/<name>.log and remember it."""
        log = open(os.path.join(self.logdir, name + ".log"), "wb")
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        proc.bench_name = name
        self.running.append(proc)
        return proc

    def log_tail(self, proc, limit=2000):
        """The last `limit` characters the process wrote, for error messages."""
        try:
            with open(os.path.join(self.logdir, proc.bench_name + ".log"), "rb") as f:
                return f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, proc, grace=3.0):
        """End one process: SIGTERM, wait up to `grace` s, then SIGKILL."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self):
        for proc in list(reversed(self.running)):
            self.stop(proc)
