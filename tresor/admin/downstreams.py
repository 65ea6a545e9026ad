"""/api/downstreams: provider CRUD, model lists, and fetching a provider's own model list.

PUT is a partial update: absent fields are kept, present ones overwrite (an empty list clears),
and an `api_key` of "", "***" or the mask shown by GET keeps the stored key (Go 9dd9a53).
Keys are masked in every read unless `?reveal=1`. Every change goes through App.mutate.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from tresor.admin import fetch_models, validate
from tresor.config.model import FORMATS, Downstream
from tresor.errors import ClientError
from tresor.httpio import Request, json_response
from tresor.store import downstreams

__all__ = ["list_", "get", "create", "update", "delete", "list_models", "add_model", "remove_model",
           "fetch_saved", "fetch_new", "render"]

_FIELDS = ("id", "name", "base_url", "api_key", "api_formats", "api_format", "format_urls", "output_model_ids")
_READ_ONLY = ("created_at", "warning")


def render(ds: Downstream, created_at: str = "", reveal: bool = False) -> Dict[str, Any]:
    """The reference's Downstream JSON: key masked unless `reveal`; empty model list and URL map omitted."""
    out: Dict[str, Any] = {"id": ds.id, "name": ds.name, "base_url": ds.base_url}
    if ds.api_key:
        out["api_key"] = ds.api_key if reveal else validate.mask(ds.api_key)
    out["api_formats"] = list(ds.api_formats)
    if ds.output_model_ids:
        out["output_model_ids"] = list(ds.output_model_ids)
    if ds.format_urls:
        out["format_urls"] = dict(ds.format_urls)
    out["created_at"] = validate.timestamp(created_at)
    return out


def _load(ctx, downstream_id: str) -> Downstream:
    ds = downstreams.get(ctx.store.reader(), downstream_id)
    if ds is None:
        raise validate.not_found("downstream", downstream_id)
    return ds


def _answer(ctx, ds: Downstream, request: Request, status: int = 200, warning: Optional[str] = None):
    created = downstreams.created_times(ctx.store.reader()).get(ds.id, "")
    body = render(ds, created, validate.wants_reveal(request))
    if warning:
        body["warning"] = warning
    return json_response(status, body)


def list_(ctx, request: Request, params: dict):
    """GET /api/downstreams: every downstream in config order."""
    conn = ctx.store.reader()
    created = downstreams.created_times(conn)
    reveal = validate.wants_reveal(request)
    return [render(ds, created.get(ds.id, ""), reveal) for ds in downstreams.list_(conn)]


def get(ctx, request: Request, params: dict):
    """GET /api/downstreams/{id}[?reveal=1]."""
    return _answer(ctx, _load(ctx, params["id"]), request)


def _format_urls(body: Dict[str, Any]) -> Optional[Dict[str, str]]:
    value = body.get("format_urls")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ClientError("format_urls must be an object of format -> URL", 400)
    urls = {}
    for name, target in value.items():
        if name not in FORMATS:
            raise ClientError("format_urls: %r is not one of %s" % (name, ", ".join(FORMATS)), 400)
        if not isinstance(target, str):
            raise ClientError("format_urls.%s must be a string" % name, 400)
        urls[name] = validate.url(target, "format_urls.%s" % name)
    return urls


def _merge(body: Dict[str, Any], current: Downstream) -> Downstream:
    """`current` with the fields present in `body` applied, checked."""
    formats = validate.strings(body, "api_formats", FORMATS)
    legacy = validate.text(body, "api_format")
    if formats is None and legacy:
        if legacy not in FORMATS:
            raise ClientError("api_format must be one of %s" % ", ".join(FORMATS), 400)
        formats = (legacy,)
    name = validate.text(body, "name")
    if name is not None and not name.strip():
        raise ClientError("name must not be empty", 400)
    base_url = validate.text(body, "base_url")
    key = validate.text(body, "api_key")
    urls = _format_urls(body)
    models = validate.strings(body, "output_model_ids")
    merged = current.__class__(
        id=current.id, name=name if name is not None else current.name,
        base_url=validate.url(base_url, "base_url") if base_url else ("" if base_url == "" else current.base_url),
        api_key=current.api_key if validate.keeps_key(key, current.api_key) else key,
        api_formats=formats if formats is not None else current.api_formats,
        format_urls=urls if urls is not None else current.format_urls,
        output_model_ids=models if models is not None else current.output_model_ids)
    if not merged.base_url and not merged.format_urls:
        raise ClientError("base_url is required (an http:// or https:// URL)", 400)
    return merged


def _warning(ds: Downstream) -> Optional[str]:
    host = urlsplit(ds.base_url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback:
        return None
    return ("base_url uses the bare IP address %s: check it is the provider you meant, and for https that "
            "its certificate names this address" % host)


def create(ctx, request: Request, params: dict):
    """POST /api/downstreams: 201 with the new downstream; 409 when the id exists."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    validate.text(body, "name", required=True)
    ds = _merge(body, Downstream(id=validate.ident(body)))

    def change(conn):
        if downstreams.get(conn, ds.id) is not None:
            raise ClientError("downstream %r already exists" % ds.id, 409)
        downstreams.upsert(conn, ds)

    validate.commit(ctx, change)
    return _answer(ctx, ds, request, 201, _warning(ds))


def update(ctx, request: Request, params: dict):
    """PUT /api/downstreams/{id}: partial update (see the module docstring)."""
    body = validate.read_json(request, _FIELDS, _READ_ONLY)
    if body.get("id") not in (None, params["id"]):
        raise ClientError("id cannot be changed (create a new downstream instead)", 400)

    def change(conn):
        current = downstreams.get(conn, params["id"])
        if current is None:
            raise validate.not_found("downstream", params["id"])
        merged = _merge(body, current)
        downstreams.upsert(conn, merged)
        return merged

    ds = validate.commit(ctx, change)
    return _answer(ctx, ds, request, 200, _warning(ds))


def delete(ctx, request: Request, params: dict):
    """DELETE /api/downstreams/{id}: cascades into rules and aliases (store.downstreams.delete)."""
    def change(conn):
        if not downstreams.delete(conn, params["id"]):
            raise validate.not_found("downstream", params["id"])

    validate.commit(ctx, change)
    return {"status": "deleted"}


def list_models(ctx, request: Request, params: dict):
    """GET /api/downstreams/{id}/models: `{"model_ids": [...]}` in saved order."""
    return {"model_ids": list(_load(ctx, params["id"]).output_model_ids)}


def add_model(ctx, request: Request, params: dict):
    """POST /api/downstreams/{id}/models `{"model_id"}`: append (idempotent); returns the downstream."""
    body = validate.read_json(request, ("model_id",))
    model_id = validate.text(body, "model_id", required=True).strip()

    def change(conn):
        if downstreams.get(conn, params["id"]) is None:
            raise validate.not_found("downstream", params["id"])
        downstreams.add_model(conn, params["id"], model_id)

    validate.commit(ctx, change)
    return _answer(ctx, _load(ctx, params["id"]), request)


def remove_model(ctx, request: Request, params: dict):
    """DELETE /api/downstreams/{id}/models/{model_id}: remove (idempotent); returns the downstream."""
    def change(conn):
        if downstreams.get(conn, params["id"]) is None:
            raise validate.not_found("downstream", params["id"])
        downstreams.remove_model(conn, params["id"], params["model_id"])

    validate.commit(ctx, change)
    return _answer(ctx, _load(ctx, params["id"]), request)


def fetch_saved(ctx, request: Request, params: dict):
    """POST /api/downstreams/{id}/fetch-models: ask the provider for its models; nothing is saved."""
    ds = _load(ctx, params["id"])
    base = (ds.format_urls.get(ds.api_formats[0]) if ds.api_formats else None) or ds.base_url
    return {"model_ids": fetch_models.fetch(base, ds.api_key, ds.api_formats, ctx.config.proxy_mode)}


def fetch_new(ctx, request: Request, params: dict):
    """POST /api/fetch-models `{"base_url", "api_key", "formats"?, "downstream_id"?}` -> `{"model_ids"}`.

    For a form editing a saved downstream, a masked or empty `api_key` with its
    `downstream_id` uses the stored key.
    """
    body = validate.read_json(request, ("base_url", "api_key", "formats", "downstream_id"))
    base = validate.url(validate.text(body, "base_url", required=True), "base_url")
    key = validate.text(body, "api_key")
    saved_id = validate.text(body, "downstream_id")
    if saved_id:
        stored = _load(ctx, saved_id).api_key
        key = stored if validate.keeps_key(key, stored) else key
    formats = validate.strings(body, "formats", FORMATS) or ()
    return {"model_ids": fetch_models.fetch(base, key or "", formats, ctx.config.proxy_mode)}
