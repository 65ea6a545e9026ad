"""Streaming measurements: time to first event, inter-event gaps, and many concurrent open streams.

Sequential: one keep-alive http.client connection per target; requests go round-robin over the
targets (direct, Tresor, LiteLLM) so drift hits all alike. TTFB is from just before sending the
request to the arrival of the first `data:` line; gaps are between consecutive `data:` lines;
duration is from sending to the last `data:` line (the stub spaces its events evenly, so a gateway
that holds events back shows up in the gaps and the duration).

Concurrent: one thread with a selector opens `count` raw sockets in small batches, each sending a
streamed request for a long-lived stream, and counts how many are open (first event received, `[DONE]`
not yet) at the same time, how many finish, and how many fail.
"""
import http.client
import json
import selectors
import socket
import time


def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))
    return ordered[int(rank) - 1]


def stream_body(model):
    return json.dumps({"model": model, "stream": True,
                       "messages": [{"role": "user", "content": "Count to ten."}]}).encode()


def one_stream(conn, case):
    """Send one streamed request on `conn`; return (ttfb s, [gap s], duration s, events, first data line)."""
    start = time.perf_counter()
    conn.request("POST", case.path, body=case.body.encode(), headers=case.headers)
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"stream request to {case.path} got HTTP {resp.status}: {resp.read()[:300]!r}")
    stamps, first = [], b""
    for _ in range(10000):  # bounded: the stub sends a few dozen lines
        line = resp.readline()
        if not line:
            break
        if line.startswith(b"data:"):
            stamps.append(time.perf_counter())
            first = first or line
    resp.read()
    if not stamps:
        raise RuntimeError(f"stream request to {case.path} returned no events")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return stamps[0] - start, gaps, stamps[-1] - start, len(stamps), first.decode("utf-8", "replace").strip()


def sequential_streams(targets, requests, warmup=3):
    """`targets`: {name: (port, Case)}; round-robin streamed requests; per-target ttfb/gap/duration lists."""
    conns = {k: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for k, (port, _) in targets.items()}
    results = {k: {"ttfb": [], "gaps": [], "duration": [], "events": 0, "first": ""} for k in targets}
    try:
        for index in range(warmup + requests):
            for key, (_, case) in targets.items():
                ttfb, gaps, duration, events, first = one_stream(conns[key], case)
                if index >= warmup:
                    r = results[key]
                    r["ttfb"].append(ttfb)
                    r["gaps"].extend(gaps)
                    r["duration"].append(duration)
                    r["events"] = events
                    r["first"] = first
    finally:
        for conn in conns.values():
            conn.close()
    return results


def summarize(r):
    """Milliseconds: TTFB p50/p99, gap p50/p99/max, duration p50; and events per stream."""
    gaps = r["gaps"] or [0.0]
    return {"ttfb_p50": percentile(r["ttfb"], 50) * 1000, "ttfb_p99": percentile(r["ttfb"], 99) * 1000,
            "gap_p50": percentile(gaps, 50) * 1000, "gap_p99": percentile(gaps, 99) * 1000,
            "gap_max": max(gaps) * 1000, "duration_p50": percentile(r["duration"], 50) * 1000,
            "events": r["events"], "samples": len(r["ttfb"]), "first": r.get("first", "")}


class _Stream:
    __slots__ = ("sock", "tail", "head_ok", "first", "done")

    def __init__(self, sock):
        self.sock, self.tail, self.head_ok, self.first, self.done = sock, b"", None, False, False


def _raw_request(port, path, model):
    body = stream_body(model)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer bench\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _open_one(sel, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.connect_ex(("127.0.0.1", port))
    st = _Stream(sock)
    sel.register(sock, selectors.EVENT_WRITE, st)
    return st


def _close(sel, st, stats, failed):
    sel.unregister(st.sock)
    st.sock.close()
    if failed:
        stats["errors"] += 1
        if st.first:
            stats["open_now"] -= 1


def _on_writable(sel, st, stats, request):
    if st.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
        return _close(sel, st, stats, failed=True)
    try:
        sent = st.sock.send(request)  # a few hundred bytes: fits an empty socket buffer in one send
    except OSError:
        sent = -1
    if sent != len(request):
        return _close(sel, st, stats, failed=True)
    sel.modify(st.sock, selectors.EVENT_READ, st)


def _on_readable(sel, st, stats, elapsed):
    try:
        data = st.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if st.head_ok is None and data:
        st.head_ok = data.startswith(b"HTTP/1.1 200")
    if not data or not st.head_ok:
        return _close(sel, st, stats, failed=True)
    text = st.tail + data
    if not st.first and b"data:" in text:
        st.first = True
        stats["open_now"] += 1
        if stats["open_now"] > stats["peak"]:
            stats["peak"], stats["peak_at"] = stats["open_now"], elapsed
    if b"[DONE]" in text:
        stats["open_now"] -= 1
        stats["completed"] += 1
        return _close(sel, st, stats, failed=False)
    st.tail = text[-16:]


def concurrent_streams(port, path, model, count, batch=100, batch_every=0.05, timeout=40.0, on_tick=None):
    """Hold `count` streams open at once against 127.0.0.1:`port`; return counts and timings.

    Sockets are opened `batch` at a time every `batch_every` s. Streams still running after `timeout`
    s are closed and counted as unfinished. `on_tick()` is called about every 0.25 s (RSS sampling).
    """
    request = _raw_request(port, path, model)
    sel = selectors.DefaultSelector()
    stats = {"requested": count, "opened": 0, "open_now": 0, "peak": 0, "peak_at": None,
             "completed": 0, "errors": 0, "unfinished": 0}
    start = next_batch = last_tick = time.monotonic()
    try:
        while time.monotonic() - start < timeout:
            now = time.monotonic()
            if stats["opened"] < count and now >= next_batch:
                for _ in range(min(batch, count - stats["opened"])):
                    _open_one(sel, port)
                    stats["opened"] += 1
                next_batch = now + batch_every
            if stats["opened"] == count and not sel.get_map():
                break
            for key, events in sel.select(timeout=0.01):
                if events & selectors.EVENT_WRITE:
                    _on_writable(sel, key.data, stats, request)
                else:
                    _on_readable(sel, key.data, stats, time.monotonic() - start)
            if on_tick and now - last_tick >= 0.25:
                on_tick()
                last_tick = now
    finally:
        for key in list(sel.get_map().values()):
            key.fileobj.close()
            stats["unfinished"] += 1
        sel.close()
    stats["wall"] = time.monotonic() - start
    return stats
