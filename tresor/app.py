"""Composition root: build(config) -> App wires the store, web UI and admin API; no logic of its own.

`App.handle(request)` is the whole daemon behind the sockets, callable in-process by tests.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Optional

from tresor import admin, config as config_io
from tresor.config.model import Config
from tresor.httpio import Request, Response, json_response
from tresor.web import WebUI

log = logging.getLogger("tresor")


class App:
    """The running daemon's state: config, store, web UI. Shared by all server threads."""

    def __init__(self, config: Config, store, base_dir: str, pool=None):
        from tresor.gateway.capture import PayloadStore
        from tresor.gateway.engine import Engine
        from tresor.gateway.usage_stats import StatsRecorder
        from tresor.gateway.requestlog import RequestLog
        from tresor.gateway.routing import RoutingTable

        self.config = config
        self.store = store
        self.base_dir = base_dir
        self.web = WebUI()
        self.started_ms = int(time.time() * 1000)
        self.log = RequestLog(capacity=500, level=config.log_level)
        self.routes = RoutingTable((), (), {})
        self.pool = pool
        self.payloads = PayloadStore()
        self.stats = StatsRecorder(store) if store is not None else None
        self.engine = Engine(self)
        self.login_limiter = admin.auth.LoginLimiter()
        self.stopping = threading.Event()  # set at shutdown: long admin streams (log SSE) end
        self._mutate_lock = threading.Lock()
        if store is not None:
            self.refresh_routes()

    def refresh_routes(self) -> None:
        """Rebuild the in-memory routing snapshot from the store (after start and every admin change)."""
        from tresor.gateway import pipeline
        from tresor.gateway.routing import RoutingTable
        from tresor.store import aliases, downstreams, rules

        conn = self.store.reader()
        compiled = pipeline.compile_rules(rules.list_enabled_with_version(conn), self.routes.rules)
        self.routes = RoutingTable(downstreams.list_(conn), aliases.list_groups(conn), aliases.active_ids(conn),
                                   self.routes.version + 1, compiled)

    def mutate(self, change: Callable[..., Any], *args: Any, settings: Optional[Dict[str, Any]] = None) -> Any:
        """Apply one admin change to SQLite and config.yaml together, then refresh routing.

        `change(conn, *args)` runs inside a write transaction; `settings` are top-level config
        values to change. The YAML is regenerated from the DB snapshot and saved atomically
        inside the same transaction, so if the save fails (ConfigError) the DB change is rolled
        back and both stay as they were. Returns what `change` returned.
        """
        from tresor.store import sync

        def apply(conn):
            result = change(conn, *args) if change is not None else None
            ds, rules, groups = sync.snapshot(conn)
            config = self.config.replace(downstreams=ds, rules=rules, aliases=groups, **(settings or {}))
            if config.path:
                config_io.save(config, config.path)
            return result, config

        with self._mutate_lock:  # one writer of config.yaml at a time, in DB commit order
            result, config = self.store.write(apply)
            self.config = config
        self._apply_live(settings or {})
        self.refresh_routes()
        return result

    def _apply_live(self, settings: Dict[str, Any]) -> None:
        # Settings the gateway does not re-read from self.config on each request.
        if "log_level" in settings:
            self.log.level = settings["log_level"]
        if "proxy_mode" in settings and self.pool is not None:
            self.pool.set_proxy_mode(settings["proxy_mode"])

    def handle(self, request: Request) -> Response:
        """Answer one request: /api/ -> admin, web UI files, everything else -> gateway."""
        if request.path == "/api" or request.path.startswith("/api/"):
            return admin.dispatch(self, request)
        page = self.web.serve(request)
        if page is not None:
            return page
        if request.is_trusted_socket:  # the unix socket carries admin API and UI only (reference §5.4)
            return json_response(404, {"error": "the gateway is not served on the unix socket"})
        return self.gateway(request)

    def client_error(self, method: str, path: str, error) -> Response:
        """A ClientError found before routing (e.g. body over max_body_bytes), in the client's format:
        the API's JSON error for /api/, the LLM format the path implies for gateway paths."""
        if path == "/api" or path.startswith("/api/"):
            return json_response(error.status, {"error": error.message})
        return self.engine.reject(method, path, error)

    def gateway(self, request: Request) -> Response:
        """LLM traffic: the gateway engine."""
        return self.engine.handle(request)

    def close(self) -> None:
        """Release the store and pooled upstream connections (idempotent)."""
        if self.pool is not None:
            self.pool.close()
        if self.stats is not None:
            self.stats.close()
            self.stats = None
        if self.store is not None:
            self.store.close()
            self.store = None


def db_path(config: Config, base_dir: str) -> str:
    """The absolute database path for `config` (relative paths resolve against the config's folder)."""
    return config_io.expand_path(config.db_path or "~/.tresor.db", base_dir)


def _purge_old_stats(conn) -> None:
    """Drop usage statistics older than 12 months (reference §1.7 step 5)."""
    from tresor.store import stats

    cutoff = stats.bucket_at(int((time.time() - 365 * 86400) * 1000))
    log.info("usage stats: purged %d rows older than %s", stats.purge_before(conn, cutoff), cutoff)


def build(config: Config, base_dir: Optional[str] = None) -> App:
    """Open the store, migrate it, upsert the config's routing data (reference §1.8), return the App.

    Raises ConfigError when the database cannot be opened or the config's data is rejected.
    """
    from tresor.store import Store, sync

    base_dir = base_dir or (os.path.dirname(config.path) if config.path else os.getcwd())
    store = Store.open(db_path(config, base_dir))
    try:
        store.write(sync.load_config_data, config)
        store.submit(_purge_old_stats)
    except BaseException:
        store.close()
        raise
    from tresor.gateway.upstream import Pool

    return App(config, store, base_dir, Pool(proxy_mode=config.proxy_mode))
