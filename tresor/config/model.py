"""Config values as frozen dataclasses, plus the key table that declares every setting once.

Parsing lives in config/yaml.py and validation in config/validate.py; this module only holds
values and the declarations (name, default, help) that the README coverage test reads.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

FORMATS = ("openai", "openai_responses", "anthropic", "gemini")
PROXY_MODES = ("auto", "env", "windows", "none")
LOG_LEVELS = ("debug", "info", "warn", "error")
TABS = ("dashboard", "downstreams", "aliases", "rules", "settings", "logs", "about")


@dataclass(frozen=True)
class Setting:
    """One top-level scalar or list key: its type name, default and one-line help."""

    name: str
    kind: str  # "str", "bool", "int", "float", "list[str]", "enum"
    default: Any
    help: str
    choices: Tuple[str, ...] = ()


# The order here is the order keys are written back (reference §1.9), with our additions last.
SETTINGS = (
    Setting("bind_addr", "str", "127.0.0.1:11510", "TCP address (host:port) for gateway, admin API and web UI."),
    Setting("socket_path", "str", "", "Unix socket for the admin API and web UI only (mode 0600); empty = off."),
    Setting("db_path", "str", "~/.tresor.db", "SQLite file for routing data, sessions and usage stats."),
    Setting("admin_password", "str", "", "Password for the web UI and admin API; empty = no login."),
    Setting("proxy_mode", "enum", "auto", "Outbound proxy: auto, env (HTTPS_PROXY/NO_PROXY), windows, none.",
            PROXY_MODES),
    Setting("proxy_api_keys", "list[str]", (), "Keys clients must send to use the gateway; empty = open."),
    Setting("default_tab", "enum", "", "Web UI tab opened first; empty = downstreams.", ("",) + TABS),
    Setting("log_level", "enum", "info", "Request log verbosity: debug, info, warn, error.", LOG_LEVELS),
    Setting("capture_payloads", "bool", False, "Keep request/response bodies for the inspector and record usage."),
    Setting("icon_cache_dir", "str", "", "Folder for model icons; empty = tresor-icons next to db_path."),
    Setting("retry_on_empty", "bool", False, "Retry (up to 3 times) HTTP-200 generations that came back empty."),
    Setting("stream_idle_timeout", "float", 300.0, "Seconds of upstream silence before a request is failed."),
    Setting("max_body_bytes", "int", 32 * 1024 * 1024, "Largest request body accepted from a client (413 above)."),
)
SETTING_NAMES = tuple(s.name for s in SETTINGS)
SECTIONS = ("downstreams", "rules", "aliases")


@dataclass(frozen=True)
class Downstream:
    """A provider endpoint (reference §1.3)."""

    id: str
    name: str = ""
    base_url: str = ""
    api_key: str = ""
    api_formats: Tuple[str, ...] = ()
    format_urls: Dict[str, str] = field(default_factory=dict)
    output_model_ids: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineStep:
    """One plugin in a rule's pipeline; `config` is the plugin's own mapping."""

    plugin_id: str
    config: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class Rule:
    """A pipeline attached to a path / model / format filter (reference §1.4)."""

    id: str
    name: str = ""
    pattern_path: str = "*"
    pattern_models: Tuple[str, ...] = ()
    match_format: Tuple[str, ...] = ()
    match_downstream_format: Tuple[str, ...] = ()
    match_downstreams: Tuple[str, ...] = ()
    pipeline_config: Tuple[PipelineStep, ...] = ()
    is_enabled: bool = True


@dataclass(frozen=True)
class AliasOption:
    """One choice inside an alias group: route to `downstream_id` as `output_model_id`."""

    id: str
    downstream_id: str
    output_model_id: str


@dataclass(frozen=True)
class AliasGroup:
    """Alias rows sharing `input_model_id` (a regex when `is_regex`); first option is active at first load."""

    input_model_id: str
    options: Tuple[AliasOption, ...] = ()
    is_regex: bool = False
    announced_names: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """A validated config. `path` is the file it came from (None when built in memory)."""

    path: Optional[str] = None
    bind_addr: str = "127.0.0.1:11510"
    socket_path: str = ""
    db_path: str = "~/.tresor.db"
    admin_password: str = ""
    proxy_mode: str = "auto"
    proxy_api_keys: Tuple[str, ...] = ()
    default_tab: str = ""
    log_level: str = "info"
    capture_payloads: bool = False
    icon_cache_dir: str = ""
    retry_on_empty: bool = False
    stream_idle_timeout: float = 300.0
    max_body_bytes: int = 32 * 1024 * 1024
    downstreams: Tuple[Downstream, ...] = ()
    rules: Tuple[Rule, ...] = ()
    aliases: Tuple[AliasGroup, ...] = ()

    def replace(self, **changes) -> "Config":
        """Return a copy with `changes` applied (the dataclass is frozen)."""
        return dataclasses.replace(self, **changes)
