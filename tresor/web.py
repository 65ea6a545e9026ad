"""The web UI: serves the static files of the top-level `webui/` folder (from the tree or the .pyz).

Files are read through tresor.bundle once and kept with their ETag; a matching If-None-Match
gets 304, and `Cache-Control: no-cache` makes browsers revalidate, so an upgrade is seen at once.
Sub-folders are allowed (webui/js/…); no file outside webui/ is reachable (bundle.read refuses `..`).
The strict Content-Security-Policy is added to every response by the server (httpio.SECURITY_HEADERS).
"""
from __future__ import annotations

import hashlib
import posixpath
import threading
from typing import Dict, Optional, Tuple

from tresor import bundle
from tresor.httpio import Request, Response

_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
    ".json": "application/json", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
}


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header (`*`, or a list of possibly weak tags) names `etag` (RFC 9110 13.1.2)."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any((tag[2:] if tag.startswith("W/") else tag) == etag for tag in tags)


class WebUI:
    """Static file server for webui/. Thread-safe; caches each file's bytes and ETag after first read."""

    def __init__(self):
        self._cache: Dict[str, Optional[Tuple[bytes, str]]] = {}
        self._lock = threading.Lock()

    def _file(self, name: str) -> Optional[Tuple[bytes, str]]:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        raw = bundle.read("webui/" + name)
        entry = (raw, '"%s"' % hashlib.sha256(raw).hexdigest()[:32]) if raw is not None else None
        with self._lock:
            self._cache[name] = entry
        return entry

    def serve(self, request: Request) -> Optional[Response]:
        """Return the Response for a GET/HEAD of a web UI path, or None when no such file exists."""
        if request.method not in ("GET", "HEAD"):
            return None
        name = "index.html" if request.path in ("/", "/index.html") else request.path.lstrip("/")
        clean = posixpath.normpath(name) if name else ""
        if not name or name.endswith("/") or clean.startswith(("..", "/", "api/")) or clean != name:
            return None
        entry = self._file(name)
        if entry is None:
            return None
        raw, etag = entry
        ext = name[name.rfind("."):] if "." in name else ""
        headers = [("ETag", etag), ("Cache-Control", "no-cache")]
        if _matches(request.headers.get("if-none-match", ""), etag):
            return Response(304, headers, b"")
        headers.insert(0, ("Content-Type", _TYPES.get(ext, "application/octet-stream")))
        return Response(200, headers, b"" if request.method == "HEAD" else raw)
