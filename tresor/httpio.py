"""Request and Response values shared by every surface (gateway, admin API, web UI).

Pure values, no sockets: the server builds a Request from the wire and writes a Response back,
so everything behind `App.handle` is testable in-process (STYLE.md 4.4, rule 7).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import parse_qsl

# Sent on every response, gateway included (reference §3.1). The web UI loads only its own files.
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; connect-src 'self'; script-src 'self'; "
     "style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


@dataclass
class Request:
    """One client request. `headers` keys are lower-case; `path` excludes the query string."""

    method: str
    path: str
    query: str = ""
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client_ip: str = ""
    is_trusted_socket: bool = False  # arrived on the 0600 unix socket: admin-only, no login

    def query_params(self) -> Dict[str, str]:
        """The query string as a dict (last value wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class Response:
    """A complete response (`body` bytes) or a streamed one (`body` an iterable of byte chunks).

    A streamed body is sent with chunked transfer encoding, each chunk flushed as it is yielded.
    The iterable may have a `close()` method; the server calls it when the client goes away.
    """

    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: Union[bytes, Iterable[bytes]] = b""

    @property
    def is_stream(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))

    def header(self, name: str) -> Optional[str]:
        """The first header named `name` (case-insensitive), or None."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


def json_response(status: int, value: Any, headers: Iterable[Tuple[str, str]] = ()) -> Response:
    """A JSON response with Content-Type set; `value` must be JSON-serialisable."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, [("Content-Type", "application/json")] + list(headers), raw)


def text_response(status: int, text: str) -> Response:
    """A plain-text response (a trailing newline is added, as Go's http.Error does)."""
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], (text + "\n").encode("utf-8"))
