"""Admin REST API under /api/: a route table of (methods, pattern, handler, is_public) and one dispatcher.

Handlers take (ctx, request, params) and return a JSON-able value or a Response, or raise
ClientError; `dispatch` is the one place that turns those into HTTP (STYLE.md 4.7), after the
cross-site check (every mutating request) and the auth check (every non-public route).
Paths and JSON shapes: reference §5; one module per resource.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable, List, Optional, Tuple
from urllib.parse import unquote

from tresor import __version__, plugins as plugin_registry
from tresor.admin import aliases, auth, config, downstreams, logs, rules, stats
from tresor.errors import ClientError, ConfigError
from tresor.httpio import Request, Response, json_response

__all__ = ["ROUTES", "dispatch"]

log = logging.getLogger("tresor.admin")


def health(ctx, request: Request, params: dict) -> Any:
    """Liveness probe; public."""
    return {"status": "ok"}


def version(ctx, request: Request, params: dict) -> Any:
    """The running version; public."""
    return {"version": __version__, "build_time": "dev"}


def list_plugins(ctx, request: Request, params: dict) -> Any:
    """GET /api/plugins: `[{id, description, config_schema}]`."""
    return plugin_registry.describe()


_ANY = None
_GET, _POST, _PUT, _DELETE = ("GET", "HEAD"), ("POST",), ("PUT",), ("DELETE",)

# (methods or None for any, path pattern, handler, is_public). `<name>` matches one path segment,
# `<name:path>` the rest of the path; values are percent-decoded. More specific patterns first.
ROUTES: Tuple[Tuple[Optional[Tuple[str, ...]], str, Callable, bool], ...] = (
    (_ANY, "/api/health", health, True),
    (_ANY, "/api/version", version, True),
    (_GET, "/api/auth/status", auth.status, True),
    (_POST, "/api/auth/login", auth.login, True),
    (_POST, "/api/auth/logout", auth.logout, True),
    (_POST, "/api/auth/password", auth.change_password, False),
    (_GET, "/api/config", config.get, False),
    (_PUT, "/api/config", config.update, False),
    (_GET, "/api/log_level", config.get_log_level, False),
    (("PUT", "POST"), "/api/log_level", config.set_log_level, False),
    (_GET, "/api/downstreams", downstreams.list_, False),
    (_POST, "/api/downstreams", downstreams.create, False),
    (_GET, "/api/downstreams/<id>", downstreams.get, False),
    (_PUT, "/api/downstreams/<id>", downstreams.update, False),
    (_DELETE, "/api/downstreams/<id>", downstreams.delete, False),
    (_GET, "/api/downstreams/<id>/models", downstreams.list_models, False),
    (_POST, "/api/downstreams/<id>/models", downstreams.add_model, False),
    (_DELETE, "/api/downstreams/<id>/models/<model_id:path>", downstreams.remove_model, False),
    (_POST, "/api/downstreams/<id>/fetch-models", downstreams.fetch_saved, False),
    (_POST, "/api/fetch-models", downstreams.fetch_new, False),
    (_GET, "/api/rules", rules.list_, False),
    (_POST, "/api/rules", rules.create, False),
    (_GET, "/api/rules/<id>", rules.get, False),
    (_PUT, "/api/rules/<id>", rules.update, False),
    (_DELETE, "/api/rules/<id>", rules.delete, False),
    (_GET, "/api/plugins", list_plugins, False),
    (_GET, "/api/aliases", aliases.list_, False),
    (_POST, "/api/aliases", aliases.create, False),
    (_POST, "/api/aliases/reorder", aliases.reorder, False),
    (_POST, "/api/aliases/group", aliases.create_group, False),
    (_DELETE, "/api/aliases/group/<name:path>", aliases.delete_group, False),
    (_GET, "/api/aliases/<id>", aliases.get, False),
    (_PUT, "/api/aliases/<id>", aliases.update, False),
    (_DELETE, "/api/aliases/<id>", aliases.delete, False),
    (("PUT", "POST"), "/api/aliases/<id>/activate", aliases.activate, False),
    (_GET, "/api/logs", logs.recent, False),
    (_GET, "/api/logs/stream", logs.stream, False),
    (_GET, "/api/logs/<id>/inspect", logs.inspect, False),
    (_GET, "/api/stats", stats.get, False),
)


def _compile(pattern: str):
    def group(match) -> str:
        return "(?P<%s>%s)" % (match.group(1), ".+" if match.group(2) else "[^/]+")

    return re.compile("^" + re.sub(r"<(\w+)(:path)?>", group, pattern) + "$")


_COMPILED: List[Tuple[Optional[Tuple[str, ...]], Any, Callable, bool]] = [
    (methods, _compile(pattern), handler, is_public) for methods, pattern, handler, is_public in ROUTES]


def _find(request: Request) -> Tuple[Optional[Callable], dict, bool, bool]:
    """(handler or None, params, is_public, whether the path exists with some method)."""
    path_matched = False
    for methods, regex, handler, is_public in _COMPILED:
        match = regex.match(request.path)
        if not match:
            continue
        path_matched = True
        if methods is None or request.method in methods:
            return handler, {k: unquote(v) for k, v in match.groupdict().items()}, is_public, True
    return None, {}, False, path_matched


def _run(ctx, request: Request, handler: Callable, params: dict) -> Response:
    try:
        result = handler(ctx, request, params)
    except ClientError as e:
        if e.status >= 500:
            log.error("admin %s %s failed: %s", request.method, request.path, e.message)
        return json_response(e.status, {"error": e.message})
    except ConfigError as e:
        return json_response(400, {"error": str(e)})
    return result if isinstance(result, Response) else json_response(200, result)


def dispatch(ctx, request: Request) -> Response:
    """Answer an /api/ request: 404 unknown path, 405 other method, 403 cross-site, 401/429 auth."""
    handler, params, is_public, path_matched = _find(request)
    if handler is None and path_matched:
        response = json_response(405, {"error": "method %s not allowed on %s" % (request.method, request.path)})
    elif handler is None:
        response = json_response(404, {"error": "no admin endpoint %s" % request.path})
    else:
        response = auth.check_origin(request)
        if response is None and not is_public:
            response = auth.check_access(ctx, request)
        if response is None:
            response = _run(ctx, request, handler, params)
    if response.header("Cache-Control") is None:  # answers carry keys and settings: never cache them
        response.headers.append(("Cache-Control", "no-store"))
    return response
