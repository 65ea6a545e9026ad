"""Proxy authentication and model resolution: requested model -> (downstream, output model).

`RoutingTable` is an immutable in-memory snapshot of downstreams and alias groups, built from the
store at start and after every admin change, so the hot path never touches SQLite or compiles a
regex. Resolution order (SPEC §2, reference §3.6): announced names of active regex groups, exact
alias groups with an active option, active regex groups in group order (`re.search`), then the
first downstream (config order) listing the model in `output_model_ids`.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from tresor.config.model import AliasGroup, AliasOption, Downstream
from tresor.errors import ClientError

CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")


@dataclass(frozen=True)
class Route:
    """Where one request goes. `alias_group` is the matched group's input_model_id (None when direct)."""

    downstream: Downstream
    model: str
    alias_group: Optional[str] = None
    option_id: Optional[str] = None


class RoutingTable:
    """Immutable routing snapshot; safe to share across threads and swap atomically."""

    def __init__(self, downstreams: Sequence[Downstream], groups: Sequence[AliasGroup],
                 active: Mapping[str, str], version: int = 0, rules: Sequence = ()):
        self.version = version
        self.rules = tuple(rules)  # pipeline.CompiledRule values, tier-sorted
        self._converters: Dict[Tuple[str, str], object] = {}
        self.downstreams: Tuple[Downstream, ...] = tuple(downstreams)
        self.groups: Tuple[AliasGroup, ...] = tuple(groups)
        self._by_id: Dict[str, Downstream] = {d.id: d for d in self.downstreams}
        self._direct: Dict[str, Downstream] = {}
        for d in self.downstreams:
            for model in d.output_model_ids:
                self._direct.setdefault(model, d)
        self._exact: Dict[str, Tuple[AliasGroup, AliasOption]] = {}
        self._announced: Dict[str, Tuple[AliasGroup, AliasOption]] = {}
        self._regex: List[Tuple[re.Pattern, AliasGroup, AliasOption]] = []
        for group in self.groups:
            option = next((o for o in group.options if o.id == active.get(group.input_model_id)), None)
            if option is None:
                continue  # a group with no active option does not route (reference §3.6)
            self._exact.setdefault(group.input_model_id, (group, option))
            if group.is_regex:
                for name in group.announced_names:
                    self._announced.setdefault(name, (group, option))
                self._regex.append((re.compile(group.input_model_id), group, option))

    def converter(self, source: str, target: str):
        """The automatic converter step for `source` client traffic to a `target` downstream."""
        step = self._converters.get((source, target))
        if step is None:  # built on first use; a benign race only builds an identical step twice
            from tresor import plugins
            from tresor.gateway.pipeline import Step
            from tresor.plugins.convert import converter_id

            step = self._converters[(source, target)] = Step(plugins.create(converter_id(source, target)), "")
        return step

    def downstream(self, downstream_id: str) -> Optional[Downstream]:
        """The downstream with this id, or None."""
        return self._by_id.get(downstream_id)

    def resolve(self, model: str) -> Optional[Route]:
        """Route for `model`, or None when nothing serves it.

        Raises ClientError(502) when the matching alias points at a downstream that no longer exists.
        """
        hit = self._announced.get(model) or self._exact.get(model)
        if hit is None:
            hit = next(((g, o) for rx, g, o in self._regex if rx.search(model)), None)
        if hit is not None:
            group, option = hit
            downstream = self._by_id.get(option.downstream_id)
            if downstream is None:
                raise ClientError('alias "%s" references missing downstream "%s"' % (option.id, option.downstream_id),
                                  502, "api_error")
            return Route(downstream, option.output_model_id, group.input_model_id, option.id)
        downstream = self._direct.get(model)
        return Route(downstream, model) if downstream is not None else None

    def known_models(self) -> List[Tuple[str, Downstream, str, Optional[str]]]:
        """(model id, downstream, source, alias target) for the model listings, deduplicated, sorted by id.

        Sources (reference §3.4): every downstream's output_model_ids, every non-regex alias group's
        input name, announced names of regex groups. Regex patterns themselves are never listed.
        """
        seen: Dict[str, Tuple[str, Downstream, str, Optional[str]]] = {}
        for d in self.downstreams:
            for model in d.output_model_ids:
                seen.setdefault(model, (model, d, "downstream", None))
        for group in self.groups:
            names = group.announced_names if group.is_regex else (group.input_model_id,)
            option = self._exact.get(group.input_model_id, (None, None))[1] or (
                group.options[0] if group.options else None)
            target = self._by_id.get(option.downstream_id) if option else None
            for name in names:
                if target is not None:
                    seen.setdefault(name, (name, target, "alias", option.output_model_id))
        return [seen[k] for k in sorted(seen)]


def client_token(headers: Mapping[str, str], query: Mapping[str, str]) -> Tuple[str, bool]:
    """The credential a client sent: (token, came_from_query). Order: Bearer, x-api-key, x-goog-api-key, ?key=."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), False
    for name in ("x-api-key", "x-goog-api-key"):
        if headers.get(name):
            return headers[name].strip(), False
    if query.get("key"):
        return query["key"], True
    return "", False


def is_authorized(token: str, keys: Iterable[str]) -> bool:
    """Constant-time check of `token` against every configured key (no early exit on a match)."""
    given = token.encode("utf-8")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode("utf-8"))
    return matched and bool(given)
