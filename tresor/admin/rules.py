"""/api/rules: rule CRUD and enable/disable (reference §5.3).

`pipeline_config` is accepted as a JSON string (the Go API's shape) or a list, checked step by
step with plugins.create, and returned as a JSON string like Go. PUT is a partial update; a body
with only `is_enabled` toggles. Every change goes through App.mutate.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Tuple

from tresor import plugins
from tresor.admin import validate
from tresor.config.model import FORMATS, PipelineStep, Rule
from tresor.errors import ClientError, ConfigError
from tresor.httpio import Request, json_response
from tresor.store import downstreams, rules

__all__ = ["list_", "get", "create", "update", "delete", "render", "parse_pipeline"]

_FIELDS = ("id", "name", "pattern_path", "pattern_models", "pattern_model", "match_format",
           "match_downstream_format", "match_downstreams", "pipeline_config", "is_enabled")
_READ_ONLY = ("created_at",)


def render(rule: Rule, created_at: str = "") -> Dict[str, Any]:
    """The reference's Rule JSON (pipeline_config as a JSON string)."""
    return {"id": rule.id, "name": rule.name, "pattern_path": rule.pattern_path,
            "pattern_models": list(rule.pattern_models), "match_format": list(rule.match_format),
            "match_downstream_format": list(rule.match_downstream_format),
            "match_downstreams": list(rule.match_downstreams),
            "pipeline_config": rules.encode_pipeline(rule.pipeline_config),
            "is_enabled": rule.is_enabled, "created_at": validate.timestamp(created_at)}


def _rendered(ctx, rule_id: str) -> Dict[str, Any]:
    conn = ctx.store.reader()
    rule = rules.get(conn, rule_id)
    if rule is None:
        raise validate.not_found("rule", rule_id)
    return render(rule, rules.created_times(conn).get(rule_id, ""))


def list_(ctx, request: Request, params: dict):
    """GET /api/rules: every rule in config order."""
    conn = ctx.store.reader()
    created = rules.created_times(conn)
    return [render(rule, created.get(rule.id, "")) for rule in rules.list_(conn)]


def get(ctx, request: Request, params: dict):
    """GET /api/rules/{id}."""
    return _rendered(ctx, params["id"])


def parse_pipeline(value: Any) -> Tuple[PipelineStep, ...]:
    """A pipeline from a JSON string or list of `{plugin_id, config?}`, each step checked by its plugin."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError as e:
            raise ClientError("pipeline_config is not valid JSON: %s" % e, 400) from None
    if not isinstance(value, list):
        raise ClientError("pipeline_config must be a list of {plugin_id, config} (or that list as a JSON string)",
                          400)
    steps = []
    for index, item in enumerate(value):
        where = "pipeline_config[%d]" % index
        if not isinstance(item, dict):
            raise ClientError("%s must be an object {plugin_id, config}" % where, 400)
        unknown = [key for key in item if key not in ("plugin_id", "config")]
        if unknown:
            raise ClientError("%s: unknown field %r" % (where, unknown[0]), 400)
        plugin_id, config = item.get("plugin_id"), item.get("config")
        if not isinstance(plugin_id, str) or not plugin_id:
            raise ClientError("%s.plugin_id is required" % where, 400)
        try:
            plugins.create(plugin_id, config)
        except ConfigError as e:
            raise ClientError("%s: %s" % (where, e), 400) from e
        steps.append(PipelineStep(plugin_id, config))
    return tuple(steps)


def _merge(conn, body: Dict[str, Any], current: Rule) -> Rule:
    """`current` with the fields present in `body` applied, checked against the live downstreams."""
    values: Dict[str, Any] = {}
    for name in ("name", "pattern_path"):
        value = validate.text(body, name)
        if value is not None:
            if not value.strip():
                raise ClientError("%s must not be empty" % name, 400)
            values[name] = value.strip()
    path = values.get("pattern_path")
    if path is not None and path != "*" and not path.startswith("/"):
        raise ClientError("pattern_path must be '*' or start with '/', got %r" % path, 400)
    models = validate.strings(body, "pattern_models")
    legacy = validate.text(body, "pattern_model")
    if models is None and legacy:
        models = (legacy,)
    if models is not None:
        values["pattern_models"] = models
    for name in ("match_format", "match_downstream_format"):
        formats = validate.strings(body, name, FORMATS)
        if formats is not None:
            values[name] = formats
    ids = validate.strings(body, "match_downstreams")
    if ids is not None:
        known = {ds.id for ds in downstreams.list_(conn)}
        missing = [i for i in ids if i not in known]
        if missing:
            raise ClientError("match_downstreams: downstream %r not found" % missing[0], 400)
        values["match_downstreams"] = ids
    if body.get("pipeline_config") is not None:
        values["pipeline_config"] = parse_pipeline(body["pipeline_config"])
    enabled = validate.boolean(body, "is_enabled")
    if enabled is not None:
        values["is_enabled"] = enabled
    return dataclasses.replace(current, **values)


def create(ctx, request: Request, params: dict):
    """POST /api/rules: 201 with the new rule; name and pattern_path are required; 409 when the id exists."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    validate.text(body, "name", required=True)
    validate.text(body, "pattern_path", required=True)
    rule_id = validate.ident(body)

    def change(conn):
        if rules.get(conn, rule_id) is not None:
            raise ClientError("rule %r already exists" % rule_id, 409)
        rules.upsert(conn, _merge(conn, body, Rule(id=rule_id)))

    validate.commit(ctx, change)
    return json_response(201, _rendered(ctx, rule_id))


def update(ctx, request: Request, params: dict):
    """PUT /api/rules/{id}: change only the fields sent; 400 `no fields to update` for an empty body."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    if body.get("id") not in (None, params["id"]):
        raise ClientError("id cannot be changed (create a new rule instead)", 400)
    if not any(value is not None for key, value in body.items() if key != "id"):
        raise ClientError("no fields to update", 400)

    def change(conn):
        current = rules.get(conn, params["id"])
        if current is None:
            raise validate.not_found("rule", params["id"])
        rules.upsert(conn, _merge(conn, body, current))

    validate.commit(ctx, change)
    return _rendered(ctx, params["id"])


def delete(ctx, request: Request, params: dict):
    """DELETE /api/rules/{id} -> `{"status": "deleted"}`; 404 for an unknown id."""
    def change(conn):
        if not rules.delete(conn, params["id"]):
            raise validate.not_found("rule", params["id"])

    validate.commit(ctx, change)
    return {"status": "deleted"}
