"""Model listings answered locally: OpenAI `GET /v1/models[/{id}]` and Gemini `GET /v1beta/models[/{id}]`.

Built from the RoutingTable (reference §3.4): downstream output_model_ids, non-regex alias names,
announced names of regex groups; deduplicated and sorted by id.
"""
from __future__ import annotations

import time
from typing import Dict

from tresor import formats
from tresor.formats import ir
from tresor.gateway import paths
from tresor.httpio import Response, json_response

_GEMINI_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]


def _openai_record(model_id, downstream, source, target, created):
    record = {"id": model_id, "object": "model", "created": created, "owned_by": downstream.id,
              "name": downstream.name, "meta": {"source": source}}
    if target and target != model_id:
        record["meta"]["alias_for"] = target
    return record


def _gemini_record(model_id, downstream, source, target):
    description = "via %s" % downstream.name
    if source == "alias" and target:
        description += " (alias for %s)" % target
    return {"name": "models/" + model_id, "displayName": model_id, "description": description,
            "supportedGenerationMethods": list(_GEMINI_METHODS)}


def answer(endpoint: paths.Endpoint, routes, query: Dict[str, str]) -> Response:
    """The listing or single-model answer for a LIST_MODELS / GET_MODEL endpoint."""
    known = routes.known_models()
    if endpoint.format == "gemini":
        return _gemini(endpoint, known, query)
    created = int(time.time())
    if endpoint.kind == paths.LIST_MODELS:
        return json_response(200, {"object": "list", "data": [_openai_record(*k, created) for k in known]})
    for k in known:
        if k[0] == endpoint.model:
            return json_response(200, _openai_record(*k, created))
    error = ir.Error(404, "The model '%s' does not exist in Tresor's routing table" % endpoint.model,
                     "not_found_error", "model_not_found")
    return json_response(404, formats.get("openai").render_error(error))


def _gemini(endpoint: paths.Endpoint, known, query: Dict[str, str]) -> Response:
    if endpoint.kind == paths.GET_MODEL:
        name = endpoint.model[len("models/"):] if endpoint.model.startswith("models/") else endpoint.model
        for k in known:
            if k[0] == name:
                return json_response(200, _gemini_record(*k))
        error = ir.Error(404, "models/%s is not found in Tresor's routing table" % name, "not_found_error")
        return json_response(404, formats.get("gemini").render_error(error))
    try:
        size = int(query.get("pageSize") or 1000)
    except ValueError:
        size = 1000
    size = min(max(size, 1), 1000)
    return json_response(200, {"models": [_gemini_record(*k) for k in known[:size]]})
