"""/api/aliases: alias options and groups, activation (the hot switch) and group order.

Activation is DB-only, as in the reference (which option is active is not in config.yaml), and
takes effect on the next gateway request; every other change goes through App.mutate. PUT is a
partial update (Go replaced the whole row); an option may move to another group by sending a
new `input_model_id`. A group left with no active option gets the new option as active.
"""
from __future__ import annotations

from typing import Any, Dict, List

from tresor.admin import validate
from tresor.config.model import AliasGroup, AliasOption
from tresor.errors import ClientError
from tresor.httpio import Request, json_response
from tresor.store import aliases, downstreams

__all__ = ["list_", "get", "create", "update", "delete", "activate", "create_group", "delete_group", "reorder"]

_FIELDS = ("id", "input_model_id", "downstream_id", "output_model_id", "is_active", "is_regex",
           "announced_names", "group_order")
_READ_ONLY = ("created_at", "downstream_name", "api_formats")


def _enrich(option: Dict[str, Any], by_id: Dict[str, Any]) -> Dict[str, Any]:
    """The reference's Alias JSON from a store row dict, with its downstream's name and formats."""
    out = {key: option[key] for key in ("id", "input_model_id", "downstream_id")}
    ds = by_id.get(option["downstream_id"])
    if ds is not None:
        out["downstream_name"] = ds.name
    out["output_model_id"] = option["output_model_id"]
    if ds is not None and ds.api_formats:
        out["api_formats"] = list(ds.api_formats)
    out.update(is_active=option["is_active"], is_regex=option["is_regex"], group_order=option["group_order"],
               created_at=validate.timestamp(option["created_at"]))
    if option["announced_names"]:
        out["announced_names"] = list(option["announced_names"])
    return out


def _by_id(conn) -> Dict[str, Any]:
    return {ds.id: ds for ds in downstreams.list_(conn)}


def _rendered(ctx, option_id: str) -> Dict[str, Any]:
    conn = ctx.store.reader()
    option = aliases.get(conn, option_id)
    if option is None:
        raise validate.not_found("alias", option_id)
    return _enrich(option, _by_id(conn))


def list_(ctx, request: Request, params: dict) -> List[Dict[str, Any]]:
    """GET /api/aliases: AliasGroups in group order, options enriched with downstream name and formats."""
    conn = ctx.store.reader()
    by_id = _by_id(conn)
    groups: Dict[str, Dict[str, Any]] = {}
    for option in aliases.list_options(conn):
        group = groups.get(option["input_model_id"])
        if group is None:
            group = groups[option["input_model_id"]] = {"input_model_id": option["input_model_id"],
                                                        "is_regex": option["is_regex"], "options": []}
            if option["announced_names"]:
                group["announced_names"] = list(option["announced_names"])
        if option["is_active"]:
            group["active_id"] = option["id"]
        group["options"].append(_enrich(option, by_id))
    return list(groups.values())


def get(ctx, request: Request, params: dict):
    """GET /api/aliases/{id}."""
    return _rendered(ctx, params["id"])


def _save(conn, body: Dict[str, Any], current: Dict[str, Any]) -> None:
    """Validate and store one option: `current` (a row dict, or defaults) with `body`'s fields applied."""
    input_model_id = validate.text(body, "input_model_id") or current["input_model_id"]
    option = AliasOption(current["id"], validate.text(body, "downstream_id") or current["downstream_id"],
                         validate.text(body, "output_model_id") or current["output_model_id"])
    if downstreams.get(conn, option.downstream_id) is None:
        raise ClientError("downstream %r not found" % option.downstream_id, 400)
    group = aliases.get_group(conn, input_model_id)
    siblings = tuple(o for o in (group.options if group else ()) if o.id != option.id)
    # Group-level values not sent come from the group the option ends up in (none yet: defaults).
    if input_model_id == current.get("input_model_id"):
        is_regex, announced = current["is_regex"], tuple(current["announced_names"])
        was_active = current["is_active"]
    else:  # new, or moving: it does not take over the other group's active choice unless asked
        is_regex, announced = (group.is_regex, group.announced_names) if group else (False, ())
        was_active = False
    sent_regex, sent_announced = validate.boolean(body, "is_regex"), validate.strings(body, "announced_names")
    is_regex = is_regex if sent_regex is None else sent_regex
    announced = announced if sent_announced is None else sent_announced
    new_group = AliasGroup(input_model_id, siblings + (option,), is_regex, announced)
    model_ids = {m for ds in downstreams.list_(conn) for m in ds.output_model_ids}
    aliases.validate_group(new_group, None, aliases.list_groups(conn), model_ids)
    is_active = validate.boolean(body, "is_active")
    aliases.save_option(conn, new_group, option, was_active if is_active is None else is_active)
    # A group with no active option would never route; only an explicit deactivation may leave it so.
    if input_model_id not in aliases.active_ids(conn) and (is_active is not False or current.get("is_new")):
        aliases.activate(conn, option.id)


def _defaults(option_id: str) -> Dict[str, Any]:
    return {"id": option_id, "input_model_id": None, "downstream_id": "", "output_model_id": "",
            "is_active": False, "is_regex": False, "announced_names": (), "is_new": True}


def create(ctx, request: Request, params: dict):
    """POST /api/aliases: 201 with the new option; input_model_id, downstream_id, output_model_id required."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    for name in ("input_model_id", "downstream_id", "output_model_id"):
        validate.text(body, name, required=True)
    option_id = validate.ident(body)
    defaults = _defaults(option_id)

    def change(conn):
        if aliases.get(conn, option_id) is not None:
            raise ClientError("alias %r already exists" % option_id, 409)
        _save(conn, body, defaults)

    validate.commit(ctx, change)
    return json_response(201, _rendered(ctx, option_id))


def update(ctx, request: Request, params: dict):
    """PUT /api/aliases/{id}: change the fields sent; is_regex and announced_names apply to the group."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    if body.get("id") not in (None, params["id"]):
        raise ClientError("id cannot be changed (create a new alias instead)", 400)

    def change(conn):
        current = aliases.get(conn, params["id"])
        if current is None:
            raise validate.not_found("alias", params["id"])
        _save(conn, body, current)

    validate.commit(ctx, change)
    return _rendered(ctx, params["id"])


def delete(ctx, request: Request, params: dict):
    """DELETE /api/aliases/{id}: if it was active, the oldest remaining sibling becomes active."""
    def change(conn):
        if not aliases.delete_option(conn, params["id"]):
            raise validate.not_found("alias", params["id"])

    validate.commit(ctx, change)
    return {"status": "deleted"}


def activate(ctx, request: Request, params: dict):
    """PUT /api/aliases/{id}/activate: make it its group's active option, live on the next request.

    DB-only (reference §1.9): config.yaml does not record which option is active.
    """
    if not ctx.store.write(aliases.activate, params["id"]):
        raise validate.not_found("alias", params["id"])
    ctx.refresh_routes()
    return _rendered(ctx, params["id"])


def create_group(ctx, request: Request, params: dict):
    """POST /api/aliases/group `{input_model_id, is_regex?, announced_names?, options: [...]}` -> 201 group.

    Options are `{id?, downstream_id, output_model_id}`; the first becomes active. 409 when the
    group exists.
    """
    body = validate.read_json(request, ("input_model_id", "is_regex", "announced_names", "options"))
    name = validate.text(body, "input_model_id", required=True)
    options = body.get("options")
    if not isinstance(options, list) or not options:
        raise ClientError("options must be a non-empty list of {id?, downstream_id, output_model_id}", 400)
    for index, item in enumerate(options):
        if not isinstance(item, dict):
            raise ClientError("options[%d] must be an object" % index, 400)
        unknown = [k for k in item if k not in ("id", "downstream_id", "output_model_id")]
        if unknown:
            raise ClientError("options[%d]: unknown field %r" % (index, unknown[0]), 400)

    def change(conn):
        if aliases.get_group(conn, name) is not None:
            raise ClientError("alias group %r already exists" % name, 409)
        for index, item in enumerate(options):
            fields = dict(item, input_model_id=name, is_regex=body.get("is_regex"),
                          announced_names=body.get("announced_names"), is_active=index == 0)
            for key in ("downstream_id", "output_model_id"):
                validate.text(item, key, required=True)
            option_id = validate.ident(item)
            if aliases.get(conn, option_id) is not None:
                raise ClientError("options[%d]: alias %r already exists" % (index, option_id), 409)
            _save(conn, fields, _defaults(option_id))

    validate.commit(ctx, change)
    group = next(g for g in list_(ctx, request, params) if g["input_model_id"] == name)
    return json_response(201, group)


def delete_group(ctx, request: Request, params: dict):
    """DELETE /api/aliases/group/{input_model_id} -> `{"status": "deleted", "count": n}`; 404 unknown."""
    def change(conn):
        count = aliases.delete_group(conn, params["name"])
        if not count:
            raise validate.not_found("alias group", params["name"])
        return count

    return {"status": "deleted", "count": validate.commit(ctx, change)}


def reorder(ctx, request: Request, params: dict):
    """POST /api/aliases/reorder `{"order": [input_model_id, ...]}`; 400 for empty or unknown groups."""
    body = validate.read_json(request, ("order",))
    order = validate.strings(body, "order")
    if not order:
        raise ClientError("order must be a non-empty list of alias group names", 400)
    validate.commit(ctx, aliases.reorder, list(order))
    return {"status": "reordered"}
