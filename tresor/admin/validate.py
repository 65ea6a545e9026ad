"""Request-body checks shared by the admin handlers: JSON objects with known fields, typed values,
URLs, ids, masked API keys, and `commit` (one admin change through App.mutate).

Every check raises ClientError(400) naming the field. Imports no handler module and no gateway.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from tresor.errors import ClientError, ConfigError
from tresor.httpio import Request

__all__ = ["read_json", "text", "strings", "boolean", "url", "ident", "new_id", "mask", "keeps_key",
           "wants_reveal", "timestamp", "commit", "not_found"]

MASK = "\u2026"  # the ellipsis in "sk-…abcd"
_ID = re.compile(r"^[^\s/?#%]+$")
_URL = re.compile(r"^https?://[^/\s]+")


def read_json(request: Request, fields: Iterable[str], ignored: Iterable[str] = (),
              is_optional: bool = False) -> Dict[str, Any]:
    """Parse the body as a JSON object whose keys are all in `fields` (or `ignored`, then dropped).

    An empty body is `{}` when `is_optional`, else an error. An unknown key is a 400 naming it
    (with a "did you mean" for typos), so a misspelt field is never silently ignored.
    """
    if not request.body.strip():
        if is_optional:
            return {}
        raise ClientError("request body must be a JSON object", 400)
    try:
        value = json.loads(request.body)
    except ValueError as e:
        raise ClientError("request body is not valid JSON: %s" % e, 400) from None
    if not isinstance(value, dict):
        raise ClientError("request body must be a JSON object", 400)
    fields, ignored = tuple(fields), tuple(ignored)
    for key in value:
        if key not in fields and key not in ignored:
            import difflib  # only for this error message; not loaded at startup

            close = difflib.get_close_matches(key, fields, n=1)
            hint = "; did you mean %r?" % close[0] if close else "; known fields: " + ", ".join(fields)
            raise ClientError("unknown field %r%s" % (key, hint), 400)
    return {k: v for k, v in value.items() if k not in ignored}


def text(body: Dict[str, Any], name: str, required: bool = False) -> Optional[str]:
    """`body[name]` as a string; None when absent or null (an error when `required`)."""
    value = body.get(name)
    if value is None:
        if required:
            raise ClientError("%s is required" % name, 400)
        return None
    if not isinstance(value, str):
        raise ClientError("%s must be a string" % name, 400)
    if required and not value.strip():
        raise ClientError("%s must not be empty" % name, 400)
    return value


def strings(body: Dict[str, Any], name: str, choices: Tuple[str, ...] = ()) -> Optional[Tuple[str, ...]]:
    """`body[name]` as a tuple of non-empty strings (duplicates dropped); None when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ClientError("%s must be a list of strings" % name, 400)
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ClientError("%s[%d] must be a non-empty string" % (name, index), 400)
        if choices and item not in choices:
            raise ClientError("%s[%d]: %r is not one of %s" % (name, index, item, ", ".join(choices)), 400)
        if item not in out:
            out.append(item)
    return tuple(out)


def boolean(body: Dict[str, Any], name: str) -> Optional[bool]:
    """`body[name]` as a bool; None when absent or null."""
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise ClientError("%s must be true or false" % name, 400)
    return value


def url(value: str, name: str) -> str:
    """`value` stripped, checked to be an http:// or https:// URL."""
    value = value.strip()
    if not _URL.match(value):
        raise ClientError("%s must be an http:// or https:// URL, got %r" % (name, value), 400)
    return value


def ident(body: Dict[str, Any], name: str = "id") -> str:
    """`body[name]` as an id usable in a URL path, or a fresh one when absent."""
    value = text(body, name)
    if value is None:
        return new_id()
    if not _ID.match(value):
        raise ClientError("%s must be non-empty, without spaces, '/', '?', '#' or '%%'" % name, 400)
    return value


def new_id() -> str:
    """A fresh 8-character id, as the Go project made for API-created rows."""
    import uuid  # lazy: keeps it out of the daemon's startup imports

    return uuid.uuid4().hex[:8]


def mask(key: str) -> str:
    """An API key as shown in reads: first 3 characters, an ellipsis, the last 4; short keys `***`."""
    if not key:
        return ""
    if len(key) < 12:
        return "***"
    return key[:3] + MASK + key[-4:]


def keeps_key(sent: Optional[str], stored: str) -> bool:
    """Whether an update's key value means "keep the stored key": absent, empty, `***` or its mask."""
    return sent is None or sent in ("", "***") or (bool(stored) and sent == mask(stored))


def wants_reveal(request: Request) -> bool:
    """True for `?reveal=1` (or true); handlers only run for callers that passed the auth check."""
    return request.query_params().get("reveal", "").lower() in ("1", "true", "yes")


def timestamp(value: Any) -> str:
    """A stored timestamp as RFC 3339 UTC (Go databases hold `YYYY-MM-DD HH:MM:SS`)."""
    value = str(value or "")
    if re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", value):
        return value.replace(" ", "T") + "Z"
    return value


def not_found(what: str, key: str) -> ClientError:
    """The 404 for an unknown id (matched exactly, never by prefix)."""
    return ClientError("%s %r not found" % (what, key), 404)


def commit(ctx, change: Optional[Callable[..., Any]], *args: Any,
           settings: Optional[Dict[str, Any]] = None) -> Any:
    """Run one admin change through `ctx.mutate` (SQLite and config.yaml together) and return its result.

    `change(conn, *args)` may raise ClientError (or ConfigError, answered 400) to refuse; nothing
    is then written. A failure to save config.yaml rolls the database back too and becomes a
    500 that says so.
    """
    def checked(conn, *values):
        try:
            return change(conn, *values)
        except ConfigError as e:  # the store refused the data (bad regex, unknown group): the caller's fault
            raise ClientError(str(e), 400) from e

    try:
        return ctx.mutate(None if change is None else checked, *args, settings=settings)
    except ConfigError as e:
        raise ClientError("could not save the change, nothing was changed: %s" % e, 500) from e
