"""Top-level JSON object parsing that remembers where each member's value sits in the text.

Lets the gateway rewrite one field (the model) without re-serialising the body, so the
upstream receives the client's bytes unchanged except that field: key order, number spelling
and whitespace survive (the Go project re-serialised through a map and lost both; reference §3.6).
Values are decoded by the C scanner of the stdlib json module; only top-level members are
walked in Python.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Tuple

from tresor.errors import ClientError

_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once
_WS = " \t\n\r"

Spans = Dict[str, Tuple[int, int]]


def _skip(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def parse(raw: bytes) -> Tuple[Dict[str, Any], Spans, str]:
    """Decode `raw` as a JSON object: (members, {key: (start, end) of its value}, text).

    Raises ClientError(400) naming the position when the body is not a JSON object.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ClientError("request body is not valid UTF-8 (byte %d)" % e.start, 400) from None
    try:
        return _parse_object(text)
    except (ValueError, StopIteration, IndexError) as e:
        where = getattr(e, "pos", None)
        detail = " at character %d" % where if where is not None else ""
        raise ClientError("request body is not valid JSON%s: %s" % (detail, getattr(e, "msg", e)), 400) from None


def _parse_object(text: str) -> Tuple[Dict[str, Any], Spans, str]:
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "{":
        raise ValueError("expected a JSON object")
    members: Dict[str, Any] = {}
    spans: Spans = {}
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "}":
        return members, spans, _tail(text, i + 1)
    while True:
        if i >= len(text) or text[i] != '"':
            raise json.JSONDecodeError("expected a member name", text, i)
        key, i = _SCAN(text, i)
        i = _skip(text, i)
        if i >= len(text) or text[i] != ":":
            raise json.JSONDecodeError("expected ':'", text, i)
        start = _skip(text, i + 1)
        value, end = _SCAN(text, start)
        members[key] = value
        spans[key] = (start, end)
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "}":
            return members, spans, _tail(text, i + 1)
        raise json.JSONDecodeError("expected ',' or '}'", text, i)


def _tail(text: str, i: int) -> str:
    if _skip(text, i) != len(text):
        raise json.JSONDecodeError("extra data after the JSON object", text, i)
    return text


def replace(text: str, spans: Spans, key: str, value: Any) -> bytes:
    """`text` with the value of top-level member `key` replaced by `value` (JSON-encoded), as bytes.

    When `key` is absent the text is returned unchanged (the caller decides whether to add it).
    """
    span = spans.get(key)
    if span is None:
        return text.encode("utf-8")
    start, end = span
    return (text[:start] + json.dumps(value, ensure_ascii=False) + text[end:]).encode("utf-8")
