"""Ask a provider for its model list (reference §5.3 "Fetch models"), with urllib and a 10 s timeout.

Gemini: GET <base>/v1beta/models then <base>/models with x-goog-api-key, names stripped of
`models/`. Others: GET <base>/models then <base>/v1/models, trying Bearer (openai formats) and
x-api-key (anthropic) per declared format; 401/403 moves on to the next scheme. Nothing is saved.
"""
from __future__ import annotations

import json
from typing import Iterable, List, Optional, Sequence, Tuple

from tresor.errors import ClientError

__all__ = ["fetch", "TIMEOUT_S"]

TIMEOUT_S = 10.0
_NO_KEY = "fetch failed: no API key configured \u2014 add an API key before fetching models"


def _attempts(base: str, key: str, formats: Sequence[str]) -> List[Tuple[str, dict]]:
    base = base.rstrip("/")
    if "gemini" in formats and not any(f in formats for f in ("openai", "openai_responses", "anthropic")):
        headers = {"x-goog-api-key": key}
        return [(base + "/v1beta/models", headers), (base + "/models", headers)]
    schemes = []
    if not formats or "openai" in formats or "openai_responses" in formats:
        schemes.append({"Authorization": "Bearer " + key})
    if "anthropic" in formats:
        schemes.append({"x-api-key": key, "anthropic-version": "2023-06-01"})
    if "gemini" in formats:
        schemes.append({"x-goog-api-key": key})
    return [(base + path, headers) for path in ("/models", "/v1/models") for headers in schemes]


def _model_ids(raw: bytes) -> Optional[List[str]]:
    """Ids from `{"data": [{"id"}]}`, `{"models": [{"name"}]}` or a bare list of strings; None if neither."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    items: Iterable = ()
    if isinstance(body, list):
        items = body
    elif isinstance(body, dict) and isinstance(body.get("data"), list):
        items = body["data"]
    elif isinstance(body, dict) and isinstance(body.get("models"), list):
        items = body["models"]
    else:
        return None
    ids = []
    for item in items:
        value = item.get("id") or item.get("name") if isinstance(item, dict) else item
        if isinstance(value, str) and value:
            value = value[len("models/"):] if value.startswith("models/") else value
            if value not in ids:
                ids.append(value)
    return ids


def _opener(proxy_mode: str):
    import urllib.request  # only when fetching; urllib.request costs ~20 ms at daemon startup

    # proxy_mode "none" must not pick up HTTPS_PROXY from the environment; the other modes may.
    handlers = [urllib.request.ProxyHandler({})] if proxy_mode == "none" else []
    return urllib.request.build_opener(*handlers)


def fetch(base: str, key: str, formats: Sequence[str], proxy_mode: str = "auto") -> List[str]:
    """Return the model ids the provider at `base` lists.

    Raises ClientError: 400 without a key, 502 naming the last failure when no endpoint works.
    """
    if not key:
        raise ClientError(_NO_KEY, 400)
    import urllib.error
    import urllib.request

    opener = _opener(proxy_mode)
    reason = "no endpoint answered"
    for url, headers in _attempts(base, key, formats):
        request = urllib.request.Request(url, headers=dict(headers, Accept="application/json"))
        try:
            with opener.open(request, timeout=TIMEOUT_S) as response:
                ids = _model_ids(response.read())
        except urllib.error.HTTPError as e:
            reason = "%s answered HTTP %d" % (url, e.code)
            continue
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = "%s: %s" % (url, getattr(e, "reason", None) or e)
            continue
        if ids is not None:
            return ids
        reason = "%s did not return a model list" % url
    raise ClientError("fetch failed: %s. No working models endpoint found" % reason, 502)
