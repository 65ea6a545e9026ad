"""Exchange: the per-request context the engine threads through its steps (`x` everywhere).

Holds what was learned about one gateway request; nothing here outlives the request.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from tresor.gateway.paths import Endpoint
from tresor.gateway.routing import Route
from tresor.httpio import Request


@dataclass
class Exchange:
    """One gateway request in flight. Times are time.perf_counter() seconds."""

    request: Request
    endpoint: Endpoint
    started: float = field(default_factory=time.perf_counter)
    client_format: Optional[str] = None
    downstream_format: Optional[str] = None
    model: str = ""
    route: Optional[Route] = None
    body: Dict[str, Any] = field(default_factory=dict)
    spans: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    text: str = ""
    is_stream: bool = False
    steps: tuple = ()                   # compiled pipeline steps (pipeline.Step) for this request
    # What plugins see and may change (STYLE.md 4.3): the body's current format, path, query,
    # outgoing headers (lower-case names), and `response` to answer without the upstream.
    format: Optional[str] = None
    path: str = ""
    query: str = ""
    headers: Dict[str, str] = field(default_factory=dict)
    response: Any = None
    upstream_s: float = 0.0             # seconds spent waiting on the upstream
    first_byte_s: Optional[float] = None
    bytes_out: int = 0
    usage: Dict[str, int] = field(default_factory=dict)
    error: Optional[str] = None
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    captured_request: Optional[bytes] = None   # set only when capture_payloads is on
    tee: Any = None                            # capture.ResponseTee, only when capture_payloads is on
    notes: List[str] = field(default_factory=list)
    meta: Dict[str, Any] = field(default_factory=dict)

    @property
    def is_translated(self) -> bool:
        """Whether the downstream got another format than the client sent (errors need translating)."""
        return bool(self.client_format and self.downstream_format and self.client_format != self.downstream_format)

    def overhead_ms(self, now: Optional[float] = None) -> float:
        """Milliseconds spent in Tresor so far, excluding time waiting on the upstream."""
        return max(0.0, ((now or time.perf_counter()) - self.started - self.upstream_s) * 1000.0)
