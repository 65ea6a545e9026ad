"""Server-sent events framing only: read events from a line source, encode events to bytes.

No JSON here; `data` is text (several `data:` lines joined with "\n", as the spec says).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional


@dataclass
class SSEEvent:
    """One event: `event` name (None when absent), `data` text, raw `comments` lines kept for relaying."""

    data: str = ""
    event: Optional[str] = None
    id: Optional[str] = None

    def encode(self) -> bytes:
        """The wire form: optional `event:` and `id:` lines, one `data:` line per data line, blank line."""
        head = ""
        if self.event is not None:
            head += "event: %s\n" % self.event
        if self.id is not None:
            head += "id: %s\n" % self.id
        body = "".join("data: %s\n" % line for line in self.data.split("\n"))
        return (head + body + "\n").encode("utf-8")


def encode(event: SSEEvent) -> bytes:
    """Module-level alias of SSEEvent.encode (STYLE.md names `encode(SSEEvent) -> bytes`)."""
    return event.encode()


def iter_events(readline: Callable[[], bytes]) -> Iterator[SSEEvent]:
    """Yield events from `readline` (returns b"" at EOF) until the source ends.

    Accepts LF and CRLF; `data:` with or without the space; ignores comment lines (`:` keep-alives)
    and unknown fields; an event without any data line (only a comment) is not yielded. A final
    event not followed by a blank line is still yielded at EOF.
    """
    data: List[str] = []
    event = event_id = None
    has_data = False
    while True:
        raw = readline()
        if not raw:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if has_data:
                yield SSEEvent("\n".join(data), event, event_id)
            data, event, event_id, has_data = [], None, None, False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
            has_data = True
        elif name == "event":
            event = value
        elif name == "id":
            event_id = value
    if has_data:
        yield SSEEvent("\n".join(data), event, event_id)


def json_object(data: str) -> Optional[dict]:
    """An event's data as a JSON object, or None for anything else (`[DONE]`, keep-alive text, arrays)."""
    if not data.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def with_json(event: SSEEvent, obj: dict) -> SSEEvent:
    """A copy of `event` (same name and id) carrying `obj` as compact JSON data."""
    return SSEEvent(json.dumps(obj, ensure_ascii=False, separators=(",", ":")), event.event, event.id)
