"""fix_anthropic_usage: complete the `usage` objects of Anthropic responses and streams.

Contract: tresor/plugins/base.py. Anthropic format only; the stream generator remembers the
message_start usage in a local and forgets it at message_stop.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, Tuple

from tresor.formats.sse import SSEEvent, json_object, with_json
from tresor.plugins.base import Plugin

_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
# Events this plugin looks at; with a named event, everything else passes without a JSON parse.
_WATCHED = frozenset(("message_start", "message_delta", "message_stop"))


def _fill(usage: Dict[str, Any], known: Dict[str, Any]) -> bool:
    """Set each missing (or null) count of `usage` from `known`, else 0; True when something was set."""
    changed = False
    for key in _KEYS:
        if usage.get(key) is None:
            usage[key] = known.get(key) or 0
            changed = True
    return changed


def _fix_message(body: Dict[str, Any]) -> bool:
    """Complete `usage` of a message body, creating it when absent (other bodies, e.g. count_tokens, untouched)."""
    if body.get("type") != "message" and "content" not in body:
        return False
    usage = body.get("usage")
    if not isinstance(usage, dict):
        body["usage"] = usage = {}
    _fill(usage, {})
    return True


def _fix_start(obj: Dict[str, Any]) -> Tuple[Dict[str, Any], bool]:
    """Complete `message.usage` of a message_start event; returns (the usage to remember, changed)."""
    message = obj.get("message")
    if not isinstance(message, dict):
        return {}, False
    usage = message.get("usage")
    if not isinstance(usage, dict):
        message["usage"] = usage = {}
    changed = _fill(usage, {})
    return dict(usage), changed


def _fix_delta(obj: Dict[str, Any], known: Dict[str, Any]) -> bool:
    """Give a message_delta a complete top-level `usage` (the Anthropic SDK reads event.usage.output_tokens).

    A usage found only inside `delta` is copied up; missing counts come from message_start's.
    """
    usage = obj.get("usage")
    changed = False
    if not isinstance(usage, dict):
        nested = obj.get("delta", {}).get("usage") if isinstance(obj.get("delta"), dict) else None
        obj["usage"] = usage = dict(nested) if isinstance(nested, dict) else {}
        changed = True
    return _fill(usage, known) or changed


def _stream_anthropic(events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
    known: Dict[str, Any] = {}  # message_start's usage in the current message
    for ev in events:
        obj = json_object(ev.data) if ev.event is None or ev.event in _WATCHED else None
        if obj is None:
            yield ev
            continue
        kind, changed = obj.get("type"), False
        if kind == "message_start":
            known, changed = _fix_start(obj)
        elif kind == "message_delta":
            changed = _fix_delta(obj, known)
        elif kind == "message_stop":
            known = {}
        # Always yield: dropping message_start was a Go-version bug (commit fb80073).
        yield with_json(ev, obj) if changed else ev


_RESPONSE = {"anthropic": _fix_message}
_STREAM = {"anthropic": _stream_anthropic}


class FixAnthropicUsage(Plugin):
    id = "fix_anthropic_usage"
    changes_body = False
    description = ("Completes incomplete Anthropic usage objects from providers such as MiniMax, whose "
                   "responses can lack usage or some of its counts: adds input_tokens, output_tokens, "
                   "cache_creation_input_tokens and cache_read_input_tokens (0 when unknown) to message "
                   "bodies and to the message_start of streams, and gives every message_delta a usage "
                   "(missing counts taken from message_start) so SDKs that read it do not fail. Other "
                   "formats pass through untouched.")
    config_schema = {"type": "object", "properties": {}}

    def response(self, x, body: Dict[str, Any]) -> Dict[str, Any]:
        """Complete `usage` of an Anthropic message body (changed in place); other formats untouched."""
        fix = _RESPONSE.get(x.format)
        if fix is not None and isinstance(body, dict):
            fix(body)
        return body

    def stream(self, x, events: Iterable[SSEEvent]) -> Iterator[SSEEvent]:
        """The events with complete usage on message_start and message_delta; never drops an event.

        `x.format` is read at call time, not lazily at the first event.
        """
        fix = _STREAM.get(x.format)
        return iter(events) if fix is None else fix(events)
