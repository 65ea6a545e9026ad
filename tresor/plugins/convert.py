"""The 12 `<client>2<downstream>` converter plugins, generated from the format modules.

Each one parses the request with the client's module into the IR and renders it with the
downstream's (request hook), and the reverse for responses and streams; nothing is written
pairwise. Ids keep Tresor's names (`responses` stands for `openai_responses`), so existing
configs keep working, plus `responses2gemini`, which the Go project lacked.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, Iterator, Tuple

from tresor import formats
from tresor.formats import ir
from tresor.plugins.base import Plugin

_SHORT = {"openai": "openai", "openai_responses": "responses", "anthropic": "anthropic", "gemini": "gemini"}
# Request headers that only make sense to one API family; a converted request keeps only the target's.
_FAMILY_HEADER_PREFIXES = {
    "anthropic": ("anthropic-", "x-stainless-helper"),
    "gemini": ("x-goog-",),
    "openai": ("openai-",),
    "openai_responses": ("openai-",),
}


def _stamp_created(events: Iterator[Any], now_s: int) -> Iterator[Any]:
    # Format modules have no clock; a translated stream gets the gateway's time.
    for event in events:
        if isinstance(event, ir.Start) and event.created_s is None:
            event.created_s = now_s
        yield event


class Converter(Plugin):
    """Base of the generated converters; `source_format` / `target_format` are set per subclass."""

    source_format = ""
    target_format = ""

    def request(self, x) -> None:
        """Client body (source format) -> IR -> downstream body; also the path and family headers."""
        if x.format != self.source_format:
            raise ValueError("%s expects a %s request, got %s" % (self.id, self.source_format, x.format))
        source, target = formats.get(self.source_format), formats.get(self.target_format)
        request = source.parse_request(x.body, model=x.model, is_stream=x.is_stream)
        x.meta.setdefault("ir_requests", {})[self.id] = request
        # Always ask the downstream for stream usage; the client's renderer decides what it shows.
        outgoing = dataclasses.replace(request, model=x.route.model, is_usage_in_stream=x.is_stream)
        x.body = target.render_request(outgoing)
        x.path, x.query = target.request_path(x.route.model, x.is_stream)
        x.format = self.target_format
        dropped = request.extras.get("_dropped")
        if dropped:
            x.notes.extend("%s dropped %s" % (self.id, item) for item in dropped)
        prefixes = tuple(p for f, ps in _FAMILY_HEADER_PREFIXES.items() if f != self.target_format for p in ps)
        for name in [n for n in x.headers if n.startswith(prefixes)]:
            del x.headers[name]
        x.headers["content-type"] = "application/json"
        x.headers["accept"] = "text/event-stream" if x.is_stream else "application/json"

    def response(self, x, body: Dict[str, Any]) -> Dict[str, Any]:
        """Downstream JSON response -> IR -> client format."""
        response = formats.get(self.target_format).parse_response(body)
        if response.created_s is None:
            response.created_s = int(time.time())
        return formats.get(self.source_format).render_response(response, x.meta["ir_requests"][self.id])

    def stream(self, x, events):
        """Downstream SSE events -> IR events -> client SSE events, one rendered event at a time."""
        parsed = formats.get(self.target_format).parse_stream(events)
        request = x.meta["ir_requests"][self.id]
        yield from formats.get(self.source_format).render_stream(_stamp_created(parsed, int(time.time())), request)


def converter_id(source: str, target: str) -> str:
    """The plugin id converting `source` client traffic to a `target` downstream."""
    return "%s2%s" % (_SHORT[source], _SHORT[target])


def _make(source: str, target: str) -> type:
    plugin_id = converter_id(source, target)
    description = ("Translates %s requests to the %s format for the downstream, and its responses and streams "
                   "back to %s, through Tresor's neutral representation. Added automatically when a downstream "
                   "does not speak the client's format." % (source, target, source))
    name = "".join(p.capitalize() for p in plugin_id.split("2")) + "Converter"
    return type(name, (Converter,), {"id": plugin_id, "description": description, "source_format": source,
                                     "target_format": target})


PLUGINS: Tuple[type, ...] = tuple(_make(s, t) for s in formats.FORMAT_IDS for t in formats.FORMAT_IDS if s != t)
