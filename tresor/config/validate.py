"""Turn a parsed YAML document into a validated `Config` (model.py), or raise ConfigError.

Every error names the file, line and column of the offending field (positions come from
yaml.loads_located), says what is allowed, and suggests a close key name for typos.
Legacy keys of the Go project (`api_format`, `pattern_model`) are migrated here.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from tresor.config.model import (
    FORMATS, SECTIONS, SETTINGS, AliasGroup, AliasOption, Config, Downstream, PipelineStep, Rule,
)
from tresor.errors import ConfigError

_DOWNSTREAM_KEYS = ("id", "name", "base_url", "api_key", "api_formats", "api_format", "format_urls",
                    "output_model_ids")
_RULE_KEYS = ("id", "name", "pattern_path", "pattern_models", "pattern_model", "match_format",
              "match_downstream_format", "match_downstreams", "pipeline_config", "is_enabled")
_GROUP_KEYS = ("input_model_id", "is_regex", "announced_names", "options")
_OPTION_KEYS = ("id", "downstream_id", "output_model_id")
_STEP_KEYS = ("plugin_id", "config")


class _Checker:
    """Carries the file path and the key positions so each check can point at its field."""

    def __init__(self, path: Optional[str], positions: Dict[tuple, Tuple[int, int]],
                 check_step: Optional[Callable[[str, Any], Any]] = None):
        self.path = path
        self.positions = positions
        self.check_step = check_step

    def fail(self, where: tuple, message: str, hint: Optional[str] = None):
        line = col = None
        probe = where
        while probe:  # a missing field is reported at its nearest existing parent
            if probe in self.positions:
                line, col = self.positions[probe]
                break
            probe = probe[:-1]
        raise ConfigError(message, path=self.path, line=line, col=col, hint=hint)

    def field_name(self, where: tuple) -> str:
        return ".".join(str(p) if isinstance(p, str) else "[%d]" % p for p in where).replace(".[", "[")

    def mapping(self, value: Any, where: tuple, allowed: Iterable[str]) -> Dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(where, "%s must be a mapping, got %s" % (self.field_name(where), _kind(value)))
        allowed = tuple(allowed)
        for key in value:
            if key not in allowed:
                import difflib  # only for this error message; not loaded at startup

                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = ("did you mean %r?" % close[0]) if close else "allowed keys: " + ", ".join(allowed)
                self.fail(where + (key,), "unknown key %r in %s" % (key, self.field_name(where) or "config"),
                          hint)
        return value

    def string(self, value: Any, where: tuple, default: str = "", required: bool = False) -> str:
        if value is None:
            if required:
                self.fail(where, "%s is required" % self.field_name(where))
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(where, "%s must be a string, got %s" % (self.field_name(where), _kind(value)))
        text = str(value)
        if required and not text.strip():
            self.fail(where, "%s must not be empty" % self.field_name(where))
        return text

    def boolean(self, value: Any, where: tuple, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(where, "%s must be true or false, got %r" % (self.field_name(where), value))
        return value

    def number(self, value: Any, where: tuple, default, kind: type):
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            self.fail(where, "%s must be a non-negative number, got %r" % (self.field_name(where), value))
        if kind is int and not float(value).is_integer():
            self.fail(where, "%s must be a whole number, got %r" % (self.field_name(where), value))
        return kind(value)

    def strings(self, value: Any, where: tuple, choices: Tuple[str, ...] = ()) -> Tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(where, "%s must be a list, got %s" % (self.field_name(where), _kind(value)),
                      "write [a, b] or one '- item' per line")
        out = []
        for i, item in enumerate(value):
            text = self.string(item, where + (i,), required=True)
            if choices and text not in choices:
                self.fail(where + (i,), "%r is not allowed in %s" % (text, self.field_name(where)),
                          "allowed: " + ", ".join(choices))
            out.append(text)
        return tuple(out)

    def choice(self, value: Any, where: tuple, default: str, choices: Tuple[str, ...]) -> str:
        text = self.string(value, where, default)
        if text not in choices:
            self.fail(where, "%s must be one of %s, got %r" % (
                self.field_name(where), ", ".join(repr(c) for c in choices if c), text))
        return text


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", type(None): "nothing"}.get(
        type(value), "a %s" % type(value).__name__)


def _url(c: _Checker, value: Any, where: tuple, required: bool) -> str:
    text = c.string(value, where, required=required).strip()
    if text and not re.match(r"^https?://[^/\s]+", text):
        c.fail(where, "%s must be an http:// or https:// URL, got %r" % (c.field_name(where), text),
               "for example https://api.openai.com")
    return text


def _downstream(c: _Checker, raw: Any, where: tuple) -> Downstream:
    d = c.mapping(raw, where, _DOWNSTREAM_KEYS)
    formats = c.strings(d.get("api_formats"), where + ("api_formats",), FORMATS)
    if not formats and d.get("api_format"):  # legacy scalar (reference §1.3)
        formats = (c.choice(d.get("api_format"), where + ("api_format",), "", FORMATS),)
    urls_raw = c.mapping(d.get("format_urls"), where + ("format_urls",), FORMATS)
    urls = {k: _url(c, v, where + ("format_urls", k), True) for k, v in urls_raw.items()}
    ds_id = c.string(d.get("id"), where + ("id",), required=True)
    return Downstream(
        id=ds_id,
        name=c.string(d.get("name"), where + ("name",), ds_id),
        base_url=_url(c, d.get("base_url"), where + ("base_url",), required=not urls),
        api_key=c.string(d.get("api_key"), where + ("api_key",)),
        api_formats=formats,
        format_urls=urls,
        output_model_ids=c.strings(d.get("output_model_ids"), where + ("output_model_ids",)),
    )


def _pipeline(c: _Checker, raw: Any, where: tuple) -> Tuple[PipelineStep, ...]:
    """Pipeline steps; each is also checked with `c.check_step` (the plugin registry) when given."""
    if isinstance(raw, str):  # the Go DB and admin API carry pipeline_config as a JSON string
        try:
            raw = json.loads(raw or "[]")
        except ValueError as e:
            c.fail(where, "pipeline_config is not valid JSON: %s" % e, "write it as a YAML list instead")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.fail(where, "pipeline_config must be a list of {plugin_id, config}")
    steps = []
    for i, item in enumerate(raw):
        step = c.mapping(item, where + (i,), _STEP_KEYS)
        config = step.get("config")
        if config is not None and not isinstance(config, dict):
            c.fail(where + (i, "config"), "config of a pipeline step must be a mapping")
        plugin_id = c.string(step.get("plugin_id"), where + (i, "plugin_id"), required=True)
        if c.check_step is not None:
            try:
                c.check_step(plugin_id, config)
            except ConfigError as e:
                c.fail(where + (i, "plugin_id"), e.message, e.hint)
        steps.append(PipelineStep(plugin_id, config))
    return tuple(steps)


def _rule(c: _Checker, raw: Any, where: tuple) -> Rule:
    r = c.mapping(raw, where, _RULE_KEYS)
    models = c.strings(r.get("pattern_models"), where + ("pattern_models",))
    if not models and r.get("pattern_model"):  # legacy scalar, promoted (reference §1.4)
        models = (c.string(r.get("pattern_model"), where + ("pattern_model",)),)
    rule_id = c.string(r.get("id"), where + ("id",), required=True)
    path = c.string(r.get("pattern_path"), where + ("pattern_path",), "*")
    if path != "*" and not path.startswith("/"):
        c.fail(where + ("pattern_path",), "pattern_path must be '*' or start with '/', got %r" % path,
               "for example /v1/chat/completions")
    return Rule(
        id=rule_id,
        name=c.string(r.get("name"), where + ("name",), rule_id),
        pattern_path=path,
        pattern_models=models,
        match_format=c.strings(r.get("match_format"), where + ("match_format",), FORMATS),
        match_downstream_format=c.strings(r.get("match_downstream_format"),
                                          where + ("match_downstream_format",), FORMATS),
        match_downstreams=c.strings(r.get("match_downstreams"), where + ("match_downstreams",)),
        pipeline_config=_pipeline(c, r.get("pipeline_config"), where + ("pipeline_config",)),
        is_enabled=c.boolean(r.get("is_enabled"), where + ("is_enabled",), True),
    )


def _alias_group(c: _Checker, raw: Any, where: tuple) -> AliasGroup:
    g = c.mapping(raw, where, _GROUP_KEYS)
    pattern = c.string(g.get("input_model_id"), where + ("input_model_id",), required=True)
    is_regex = c.boolean(g.get("is_regex"), where + ("is_regex",), False)
    if is_regex:
        try:
            re.compile(pattern)
        except re.error as e:
            c.fail(where + ("input_model_id",), "invalid regex pattern %r: %s" % (pattern, e),
                   "escape literal dots as \\. and check brackets")
    announced = c.strings(g.get("announced_names"), where + ("announced_names",))
    if announced and not is_regex:
        c.fail(where + ("announced_names",), "announced_names are only allowed on regex groups",
               "set is_regex: true or remove announced_names")
    for i, name in enumerate(announced):
        if not re.search(pattern, name):
            c.fail(where + ("announced_names", i), "announced name %r does not match %r" % (name, pattern))
    options_raw = g.get("options")
    if options_raw is not None and not isinstance(options_raw, list):
        c.fail(where + ("options",), "options must be a list")
    options = []
    for i, item in enumerate(options_raw or ()):
        o = c.mapping(item, where + ("options", i), _OPTION_KEYS)
        at = where + ("options", i)
        options.append(AliasOption(
            id=c.string(o.get("id"), at + ("id",), required=True),
            downstream_id=c.string(o.get("downstream_id"), at + ("downstream_id",), required=True),
            output_model_id=c.string(o.get("output_model_id"), at + ("output_model_id",), required=True)))
    return AliasGroup(pattern, tuple(options), is_regex, announced)


def _section(c: _Checker, doc: Dict[str, Any], name: str, parse) -> tuple:
    raw = doc.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.fail((name,), "%s must be a list, got %s" % (name, _kind(raw)), "start each entry with '- '")
    return tuple(parse(c, item, (name, i)) for i, item in enumerate(raw))


def _unique(c: _Checker, items: Iterable[Tuple[str, tuple]], what: str) -> None:
    seen: Dict[str, tuple] = {}
    for key, where in items:
        if key in seen:
            first = c.positions.get(seen[key], (None,))[0]
            c.fail(where, "duplicate %s %r" % (what, key), "first defined on line %s" % first)
        seen[key] = where


def validate(doc: Any, positions: Dict[tuple, Tuple[int, int]], path: Optional[str] = None,
             check_step: Optional[Callable[[str, Any], Any]] = None) -> Config:
    """Validate a parsed config document; return a Config or raise ConfigError naming file:line:col.

    `check_step(plugin_id, config)` validates each pipeline step (the caller passes the plugin
    registry's `create`, which config/ may not import) and raises ConfigError for a bad one.
    """
    c = _Checker(path, positions, check_step)
    doc = c.mapping(doc, (), tuple(s.name for s in SETTINGS) + SECTIONS)
    values: Dict[str, Any] = {}
    for s in SETTINGS:
        raw, where = doc.get(s.name), (s.name,)
        if s.kind == "bool":
            values[s.name] = c.boolean(raw, where, s.default)
        elif s.kind in ("int", "float"):
            values[s.name] = c.number(raw, where, s.default, int if s.kind == "int" else float)
        elif s.kind == "list[str]":
            values[s.name] = c.strings(raw, where)
        elif s.kind == "enum":
            values[s.name] = c.choice(raw, where, s.default, s.choices)
        else:
            values[s.name] = c.string(raw, where, s.default) or s.default
    if not re.match(r"^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$", values["bind_addr"]):
        c.fail(("bind_addr",), "bind_addr must be host:port, got %r" % values["bind_addr"],
               "for example 127.0.0.1:11510, or [::1]:11510 for IPv6")
    downstreams = _section(c, doc, "downstreams", _downstream)
    rules = _section(c, doc, "rules", _rule)
    aliases = _section(c, doc, "aliases", _alias_group)
    _unique(c, ((d.id, ("downstreams", i, "id")) for i, d in enumerate(downstreams)), "downstream id")
    _unique(c, ((r.id, ("rules", i, "id")) for i, r in enumerate(rules)), "rule id")
    _unique(c, ((g.input_model_id, ("aliases", i, "input_model_id")) for i, g in enumerate(aliases)),
            "alias group input_model_id")
    _unique(c, ((o.id, ("aliases", i, "options", j, "id"))
                for i, g in enumerate(aliases) for j, o in enumerate(g.options)), "alias option id")
    return Config(path=path, downstreams=downstreams, rules=rules, aliases=aliases, **values)
