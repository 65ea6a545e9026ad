"""The CLI's side of the admin API: find the daemon, call it over the unix socket or TCP, print tables.

`Client.call` returns parsed JSON or raises: UpstreamError when the daemon cannot be reached
(one line saying how to start it), ClientError with the server's own message for HTTP errors.
Also the terminal output: tables, fields, and request-log lines (`follow_logs` for `logs -f`).
Used by cli_admin.py only; knows nothing about argparse.
"""
from __future__ import annotations

import datetime
import http.client
import json
import socket
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple, Union
from urllib.parse import quote, urlsplit

from tresor.errors import ClientError, UpstreamError

__all__ = ["Client", "target_from_bind_addr", "quote_id", "print_table", "print_fields", "LogFilter",
           "format_entry", "follow_logs"]

TIMEOUT_S = 10.0


class _UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over an AF_UNIX stream socket (the daemon's 0600 `socket_path`)."""

    def __init__(self, path: str, timeout: Optional[float]):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def target_from_bind_addr(bind_addr: str) -> str:
    """`http://host:port` for a bind address; wildcard hosts become the loopback address."""
    host, _, port = bind_addr.rpartition(":")
    host = host.strip("[]")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return "http://%s:%s" % ("[%s]" % host if ":" in host else host, port)


def quote_id(value: str) -> str:
    """An id as one URL path segment (the daemon matches ids exactly after decoding)."""
    return quote(value, safe="")


class Client:
    """Calls to one daemon at `target`: `unix:/path/to.sock` or `http://host:port`."""

    def __init__(self, target: str, password: str = ""):
        self.target = target
        self.password = password

    def _connect(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        if self.target.startswith("unix:"):
            return _UnixConnection(self.target[len("unix:"):], timeout)
        parts = urlsplit(self.target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError("invalid daemon URL %r (use http://host:port or unix:/path)" % self.target, 400)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return cls(parts.hostname, parts.port, timeout=timeout)

    def _not_running(self, error: Exception) -> UpstreamError:
        where = self.target[len("unix:"):] if self.target.startswith("unix:") else self.target
        return UpstreamError("the daemon is not running at %s; start it with `tresor run`" % where)

    def _send(self, method: str, path: str, body: Any, headers: Dict[str, str],
              timeout: Optional[float]) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self._connect(timeout)
        raw = None if body is None else json.dumps(body).encode("utf-8")
        headers = dict(headers, Accept="application/json")
        if raw is not None:
            headers["Content-Type"] = "application/json"
        if self.password:
            headers["Authorization"] = "Bearer " + self.password
        try:
            conn.request(method, path, raw, headers)
            return conn, conn.getresponse()
        except (ConnectionRefusedError, FileNotFoundError, socket.gaierror) as e:
            conn.close()
            raise self._not_running(e) from e
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise UpstreamError("talking to the daemon at %s failed: %s" % (self.target, e)) from e

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return the parsed JSON answer. Raises as described in the module docstring."""
        conn, resp = self._send(method, path, body, {}, TIMEOUT_S)
        try:
            raw = resp.read()
        finally:
            conn.close()
        try:
            value = json.loads(raw) if raw.strip() else None
        except ValueError:
            value = raw.decode("utf-8", "replace").strip()
        if resp.status >= 400:
            raise ClientError(_error_message(resp.status, value), resp.status)
        return value

    def events(self, path: str, last_id: int = 0) -> Iterator[Tuple[str, str, Optional[int]]]:
        """Follow an SSE stream: yields (event, data, id) until the daemon ends it."""
        headers = {"Last-Event-ID": str(last_id)} if last_id else {}
        conn, resp = self._send("GET", path, None, headers, 60.0)  # heartbeats come every 15 s
        try:
            if resp.status >= 400:
                raise ClientError("cannot follow the log: HTTP %d" % resp.status, resp.status)
            event, data, event_id = "message", [], None
            for raw_line in resp:
                line = raw_line.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    if data:
                        yield event, "\n".join(data), event_id
                    event, data, event_id = "message", [], None
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line.startswith("id:") and line[3:].strip().isdigit():
                    event_id = int(line[3:].strip())
        finally:
            conn.close()


def _error_message(status: int, value: Any) -> str:
    """One line from an error answer: {"error": "…"}, the gateway's {"error": {"message"}}, or text."""
    message = value.get("error") if isinstance(value, dict) else value
    if isinstance(message, dict):
        message = message.get("message")
    message = str(message or "HTTP %d" % status).splitlines()[0]
    if status == 401:
        message += " (give the admin password with --password or TRESOR_PASSWORD)"
    return message


Column = Tuple[str, Union[str, Callable[[Dict[str, Any]], Any]]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def print_table(rows: Sequence[Dict[str, Any]], columns: Sequence[Column], out: TextIO) -> None:
    """Print `rows` as aligned columns under upper-case headers; `columns` are (header, key or function)."""
    cells: List[List[str]] = [[header.upper() for header, _ in columns]]
    for row in rows:
        cells.append([_cell(get(row) if callable(get) else row.get(get)) for _, get in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip(), file=out)


def print_fields(value: Dict[str, Any], out: TextIO) -> None:
    """Print an object as `key: value` lines, nested values as compact JSON."""
    width = max((len(k) for k in value), default=0)
    for key, item in value.items():
        shown = json.dumps(item, ensure_ascii=False) if isinstance(item, (dict, list)) else _cell(item)
        print("%s  %s" % ((key + ":").ljust(width + 1), shown), file=out)


_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


def _level(entry: Dict[str, Any]) -> str:
    # The daemon's severity rule (reference §3.18), repeated here because entries do not carry it.
    if entry.get("level"):
        return entry["level"]
    status = entry.get("status") or 0
    return "error" if entry.get("error") or status >= 500 else "warn" if status >= 400 else "info"


class LogFilter:
    """Which log entries `logs` shows: at least `level`, containing `text` (case-insensitive)."""

    def __init__(self, level: Optional[str] = None, text: Optional[str] = None):
        self.minimum = _LEVELS.get(level or "debug", 10)
        self.text = (text or "").lower()

    def accepts(self, entry: Dict[str, Any]) -> bool:
        """Whether `entry` passes both the level and the text filter."""
        if _LEVELS.get(_level(entry), 20) < self.minimum:
            return False
        return not self.text or self.text in format_entry(entry).lower()


def format_entry(entry: Dict[str, Any]) -> str:
    """One log entry as a terminal line: local time, level, request, route, status, duration, error."""
    stamp = str(entry.get("timestamp") or "")
    try:
        stamp = datetime.datetime.fromisoformat(stamp).astimezone().strftime("%H:%M:%S")
    except ValueError:
        pass
    if entry.get("message"):
        return "%s %-5s %s" % (stamp, _level(entry).upper(), entry["message"])
    route = entry.get("downstream_id") or "-"
    if entry.get("resolved_model") and entry.get("resolved_model") != entry.get("model"):
        route += " as " + entry["resolved_model"]
    line = "%s %-5s %s %s %s -> %s %s %.0fms" % (
        stamp, _level(entry).upper(), entry.get("method", ""), entry.get("path", ""), entry.get("model") or "-",
        route, entry.get("status", ""), float(entry.get("duration") or 0))
    return line + ("  " + entry["error"] if entry.get("error") else "")


def follow_logs(api: Client, chosen: LogFilter, backlog: int, out: TextIO, as_json: bool = False) -> None:
    """Print the last `backlog` entries oldest first, then new ones as they happen, until interrupted.

    Reconnects with Last-Event-ID when the daemon drops the stream (no entry is printed twice);
    raises UpstreamError once the daemon is gone.
    """
    last_id, is_reconnect = 0, False
    while True:
        recent: List[Dict[str, Any]] = []  # the backlog, newest first, until the config event
        is_live = False
        for event, data, event_id in api.events("/api/logs/stream", last_id):
            if event == "log":
                entry = json.loads(data)
                if is_live:
                    _print_entry(entry, chosen, out, as_json)
                else:
                    recent.append(entry)
                last_id = event_id if event_id is not None else last_id
            elif event == "config":
                for entry in reversed(recent if is_reconnect else recent[:max(0, backlog)]):
                    _print_entry(entry, chosen, out, as_json)
                is_live = True
                last_id = event_id or 0  # the newest id the daemon sent (it may have restarted)
        is_reconnect = True
        time.sleep(0.5)  # the stream ended (daemon restart, or we fell behind): reconnect


def _print_entry(entry: Dict[str, Any], chosen: LogFilter, out: TextIO, as_json: bool) -> None:
    if chosen.accepts(entry):
        print(json.dumps(entry, ensure_ascii=False) if as_json else format_entry(entry), file=out, flush=True)
