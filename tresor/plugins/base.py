"""The plugin contract (a leaf module: imports only tresor.errors).

A plugin is a class with:
* `id` — snake_case, equal to its module name and to `plugin_id` in rules;
* `description` — one paragraph, shown by GET /api/plugins and the web UI;
* `config_schema` — a JSON-schema-like dict describing `config`;
* `__init__(self, config)` — validates and pre-parses `config` once, when the rule's pipeline is
  compiled; raises ConfigError with a message naming the bad field;
* any of the hooks below, opted into by defining them (discovered once at compile time).

Hooks see native wire JSON of the format named by `x.format` at that point of the chain (a
converter step changes it; later steps see the new format), never the IR:

* `request(self, x)` — before forwarding. May change `x.body` (dict), `x.headers` (dict of
  lower-case name -> value) and `x.path`; may set `x.response` (an httpio.Response) to answer
  without calling the upstream.
* `response(self, x, body)` — a complete non-streamed JSON body (dict) from the upstream; returns
  the body to send on (the same dict, changed, or a new one). Not called for error statuses.
* `stream(self, x, events)` — returns a generator: takes an iterator of sse.SSEEvent and yields
  SSEEvents; it may drop, split, merge or delay events, and may yield more at the end. Per-stream
  state lives in the generator's locals. `x.format` is right only while `stream` itself is being
  called (the pipeline sets it per step), so read it there, not later inside the generator.

Plugin objects are shared by all requests of a compiled pipeline and across threads: they must
keep no per-request state on `self` (put it on `x.meta` or in generator locals).

Failure policy: the hooks of a pipeline transform the traffic, so they fail closed — any
exception becomes PluginError naming the plugin and rule, and the request fails in the client's
format; nothing half-transformed is sent.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from tresor.errors import ConfigError


class Plugin:
    """Base class with the tiny defaults; subclasses set id, description, config_schema."""

    id = ""
    description = ""
    config_schema: Dict[str, Any] = {"type": "object", "properties": {}}
    # False for plugins whose request hook never touches x.body: the engine then forwards the
    # client's bytes as they were (only the model rewritten) instead of re-serialising the JSON.
    changes_body = True

    def __init__(self, config: Optional[Dict[str, Any]] = None):
        if config not in (None, {}) and not self.config_schema.get("properties"):
            raise ConfigError("plugin %s takes no config" % self.id, hint="remove its config")
        self.config = config or {}

    @classmethod
    def hooks(cls) -> tuple:
        """The hook names this class defines, in pipeline order."""
        return tuple(name for name in ("request", "response", "stream") if callable(getattr(cls, name, None)))
