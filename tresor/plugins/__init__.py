"""The plugin registry: BUILTIN lists every built-in plugin class, explicitly and in order.

`describe()` feeds GET /api/plugins; `create(step)` instantiates one configured step and is the
one place plugin ids and configs are validated (ConfigError lists the valid ids).
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from tresor.errors import ConfigError

__all__ = ["BUILTIN", "ids", "get", "describe", "create"]


from tresor.plugins import convert
from tresor.plugins.break_repeat import BreakRepeat
from tresor.plugins.custom_header import CustomHeader
from tresor.plugins.fix_anthropic_images import FixAnthropicImages
from tresor.plugins.fix_anthropic_usage import FixAnthropicUsage
from tresor.plugins.remove_thinking import RemoveThinking

BUILTIN: Tuple[type, ...] = (
    CustomHeader,
    BreakRepeat,
    FixAnthropicImages,
    FixAnthropicUsage,
    RemoveThinking,
) + convert.PLUGINS


def ids() -> List[str]:
    """Every plugin id, in registry order."""
    return [cls.id for cls in BUILTIN]


def get(plugin_id: str) -> type:
    """The plugin class for `plugin_id`; ConfigError naming the valid ids when unknown."""
    for cls in BUILTIN:
        if cls.id == plugin_id:
            return cls
    import difflib  # only for this error message; not loaded at startup

    close = difflib.get_close_matches(plugin_id, ids(), n=1)
    hint = ("did you mean %r? " % close[0] if close else "") + "valid ids: " + ", ".join(ids())
    raise ConfigError("unknown plugin_id %r" % plugin_id, hint=hint)


def describe() -> List[Dict[str, Any]]:
    """`[{id, description, config_schema}]` for every plugin, sorted by id (GET /api/plugins)."""
    return sorted(({"id": c.id, "description": c.description, "config_schema": c.config_schema}
                   for c in BUILTIN), key=lambda d: d["id"])


def create(plugin_id: str, config: Any = None):
    """A configured plugin instance; ConfigError for an unknown id or an invalid config."""
    cls = get(plugin_id)
    if config is not None and not isinstance(config, dict):
        raise ConfigError("config of plugin %s must be a mapping" % plugin_id)
    return cls(config)

