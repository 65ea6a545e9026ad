"""Runtime settings: GET/PUT /api/config and GET/PUT /api/log_level (reference §5.3).

PUT /api/config is a partial update (absent fields are kept; the Go project required
`proxy_mode` and turned client auth off when `proxy_api_keys` was omitted). Changed values are
applied live and written to config.yaml through App.mutate; the log-level endpoint is live only.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from tresor.admin import auth, validate
from tresor.config.model import LOG_LEVELS, PROXY_MODES, TABS
from tresor.errors import ClientError
from tresor.httpio import Request
from tresor.store import sessions

__all__ = ["get", "update", "apply", "get_log_level", "set_log_level"]

_FIELDS = ("proxy_mode", "proxy_api_keys", "admin_password", "default_tab", "log_level", "capture_payloads",
           "retry_on_empty")
_READ_ONLY = ("admin_password_set",)  # GET's shape may be sent back as is


def _shown_keys(keys: Tuple[str, ...], reveal: bool) -> List[str]:
    return list(keys) if reveal else [validate.mask(k) for k in keys]


def get(ctx, request: Request, params: dict) -> Dict[str, Any]:
    """GET /api/config: the runtime settings, proxy keys masked unless `?reveal=1`."""
    config = ctx.config
    return {
        "proxy_mode": config.proxy_mode,
        "proxy_api_keys": _shown_keys(config.proxy_api_keys, validate.wants_reveal(request)),
        "admin_password_set": bool(config.admin_password),
        "default_tab": config.default_tab,
        "log_level": ctx.log.level,
        "capture_payloads": config.capture_payloads,
        "retry_on_empty": config.retry_on_empty,
    }


def _choice(body: Dict[str, Any], name: str, choices: Tuple[str, ...]) -> Any:
    value = validate.text(body, name)
    if value is not None and value not in choices:
        raise ClientError("%s must be one of %s, got %r" % (name, ", ".join(repr(c) for c in choices), value), 400)
    return value


def _unmask_keys(sent: Tuple[str, ...], stored: Tuple[str, ...]) -> Tuple[str, ...]:
    """Map masked keys sent back (what GET showed) to the stored keys they stand for."""
    unused = list(stored)
    out = []
    for key in sent:
        match = next((k for k in unused if k == key or validate.mask(k) == key), None)
        if match is None and (validate.MASK in key or key == "***"):
            raise ClientError("proxy_api_keys: %r is a masked key that matches no stored key" % key, 400)
        if match is not None:
            unused.remove(match)
        out.append(match if match is not None else key)
    return tuple(out)


def _parse(ctx, body: Dict[str, Any]) -> Dict[str, Any]:
    values = {
        "proxy_mode": _choice(body, "proxy_mode", PROXY_MODES),
        "default_tab": _choice(body, "default_tab", ("",) + TABS),
        "log_level": _choice(body, "log_level", LOG_LEVELS),
        "capture_payloads": validate.boolean(body, "capture_payloads"),
        "retry_on_empty": validate.boolean(body, "retry_on_empty"),
        "admin_password": validate.text(body, "admin_password"),
    }
    keys = validate.strings(body, "proxy_api_keys")
    values["proxy_api_keys"] = None if keys is None else _unmask_keys(keys, ctx.config.proxy_api_keys)
    return {name: value for name, value in values.items() if value is not None}


def apply(ctx, request: Request, values: Dict[str, Any]) -> None:
    """Apply and persist the settings in `values` that differ from the running config.

    A new admin password revokes every session except the caller's own, in the same
    transaction as the write-back. Nothing is written when nothing changed.
    """
    changed = {name: value for name, value in values.items() if getattr(ctx.config, name) != value}
    if "log_level" in values and ctx.log.level != values["log_level"]:
        changed["log_level"] = values["log_level"]  # the live level may differ from the saved one
    if not changed:
        return
    if "admin_password" in changed:
        keep = None if request.is_trusted_socket else auth.caller_token(ctx, request)
        validate.commit(ctx, _revoke_sessions, keep, settings=changed)
    else:
        validate.commit(ctx, None, settings=changed)


def _revoke_sessions(conn, keep) -> None:
    sessions.delete_all(conn, keep)


def update(ctx, request: Request, params: dict) -> Dict[str, Any]:
    """PUT /api/config: change any of the runtime settings; returns the new GET /api/config shape."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    apply(ctx, request, _parse(ctx, body))
    return get(ctx, request, params)


def get_log_level(ctx, request: Request, params: dict) -> Dict[str, str]:
    """GET /api/log_level: the request log's live level."""
    return {"level": ctx.log.level}


def set_log_level(ctx, request: Request, params: dict) -> Dict[str, str]:
    """PUT/POST /api/log_level `{"level"}`: change the live level only (not written to config.yaml)."""
    body = validate.read_json(request, ("level",))
    level = _choice(body, "level", LOG_LEVELS)
    if level is None:
        raise ClientError("level is required", 400)
    ctx.log.level = level
    ctx.log.record({"level": "debug", "method": "", "path": "", "status": 0,
                    "message": "log level changed to %s" % level})
    return {"level": level}
