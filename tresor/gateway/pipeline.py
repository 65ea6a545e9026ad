"""Rules and plugin pipelines: compile once per rule version, match per request, run the hooks.

* `compile_rules(rules, previous)` turns enabled rules into CompiledRule values holding plugin
  instances (cached by (rule id, version), so an admin edit recompiles only what changed).
* `match(compiled, x)` returns the steps of every matching rule, concatenated in the four
  priority tiers of reference §3.7 (exact path + model, `*` + model, exact path, `*`).
* `run_request`, `run_response`, `run_stream` execute the hooks. Request hooks run in pipeline
  order; response and stream hooks run in reverse order (an onion), so a step placed after a
  converter sees the downstream's format on the way in and on the way out.

A failing hook raises PluginError naming the plugin and the rule (fail closed). Setting the
environment variable TRESOR_TRACE_PIPELINE=1 logs each step with its time.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from tresor import plugins
from tresor.config.model import Rule
from tresor.errors import ClientError, ConfigError, PluginError

log = logging.getLogger("tresor.pipeline")


@dataclass(frozen=True)
class Step:
    """One compiled plugin of one rule (`rule_id` is "" for the automatic converter)."""

    plugin: Any
    rule_id: str


@dataclass(frozen=True)
class CompiledRule:
    """An enabled rule with its plugin steps, ready to match."""

    rule: Rule
    version: int
    tier: int
    steps: Tuple[Step, ...]
    # The rule's conditions as sets, built once here so match() does no per-request allocation.
    formats: frozenset = frozenset()
    downstream_formats: frozenset = frozenset()
    downstreams: frozenset = frozenset()
    models: frozenset = frozenset()


def _compiled(rule: Rule, version: int, steps: Tuple[Step, ...]) -> CompiledRule:
    return CompiledRule(rule, version, _tier(rule), steps, frozenset(rule.match_format),
                        frozenset(rule.match_downstream_format), frozenset(rule.match_downstreams),
                        frozenset(rule.pattern_models))


def _tier(rule: Rule) -> int:
    is_model_specific = bool(rule.pattern_models)
    is_any_path = rule.pattern_path == "*"
    return (1 if is_any_path else 0) if is_model_specific else (3 if is_any_path else 2)


def compile_rules(rules: Iterable[Tuple[Rule, int]],
                  previous: Sequence[CompiledRule] = ()) -> Tuple[CompiledRule, ...]:
    """Compile enabled rules (in their stored order) into tier-sorted CompiledRules.

    A rule whose pipeline no longer compiles (e.g. a plugin id removed in a new version) is
    skipped with an error log instead of taking the gateway down.
    """
    cache: Dict[Tuple[str, int], CompiledRule] = {(c.rule.id, c.version): c for c in previous}
    out: List[CompiledRule] = []
    for rule, version in rules:
        if not rule.is_enabled:
            continue
        hit = cache.get((rule.id, version))
        if hit is not None:
            out.append(hit)
            continue
        try:
            steps = tuple(Step(plugins.create(s.plugin_id, s.config), rule.id) for s in rule.pipeline_config)
        except ConfigError as e:
            log.error("rule %s is skipped: %s", rule.id, e)
            continue
        out.append(_compiled(rule, version, steps))
    out.sort(key=lambda c: c.tier)  # stable: keeps the stored (config) order within a tier
    return tuple(out)


def _candidates(x) -> set:
    route = x.route
    names = {x.model, route.model, *route.downstream.output_model_ids}
    names.discard("")
    if route.alias_group:
        names.add(route.alias_group)
    return names


def match(compiled: Sequence[CompiledRule], x) -> Tuple[Step, ...]:
    """All steps of the rules matching exchange `x` (path, models, formats, downstream), tier order."""
    if not compiled:
        return ()
    path, downstream = x.request.path, x.route.downstream
    candidates = None
    steps: List[Step] = []
    for c in compiled:
        pattern_path = c.rule.pattern_path
        if pattern_path != "*" and pattern_path != path:
            continue
        if c.formats and x.client_format not in c.formats:
            continue
        if c.downstream_formats and c.downstream_formats.isdisjoint(downstream.api_formats):
            continue
        if c.downstreams and downstream.id not in c.downstreams:
            continue
        if c.models:
            candidates = candidates if candidates is not None else _candidates(x)
            if c.models.isdisjoint(candidates):
                continue
        steps.extend(c.steps)
    return tuple(steps)


def _fail(step: Step, error: Exception) -> PluginError:
    where = " in rule %s" % step.rule_id if step.rule_id else ""
    return PluginError("plugin %s%s failed: %s" % (step.plugin.id, where, error), step.plugin.id, step.rule_id or None)


_TRACE = os.environ.get("TRESOR_TRACE_PIPELINE") == "1"


def _trace(step: Step, hook: str, started: float) -> None:
    log.info("pipeline %s.%s (rule %s): %.3f ms", step.plugin.id, hook, step.rule_id or "-",
             (time.perf_counter() - started) * 1000.0)


def run_request(steps: Sequence[Step], x) -> None:
    """Run every request hook in order; stops early when a hook set `x.response`.

    A ClientError from a hook (a converter that cannot read the client's body) stays a 4xx for the
    client; any other failure becomes a PluginError (500) naming the plugin.
    """
    for step in steps:
        hook = getattr(step.plugin, "request", None)
        if hook is None:
            continue
        started = time.perf_counter()
        try:
            hook(x)
        except ClientError:
            raise
        except Exception as e:
            raise _fail(step, e) from e
        if _TRACE:
            _trace(step, "request", started)
        if x.response is not None:
            return


def _formats_along(steps: Sequence[Step], client_format: Optional[str]) -> List[Optional[str]]:
    """The body format each step sees: the client's until a converter, its target after it."""
    out, current = [], client_format
    for step in steps:
        out.append(current)
        current = getattr(step.plugin, "target_format", None) or current
    return out


def run_response(steps: Sequence[Step], x, body: Any) -> Any:
    """Run every response hook, last step first; returns the final body.

    Each hook sees `x.format` as the format at its own place in the pipeline, so a step
    before a converter gets the client's format back, a step after it the downstream's.
    """
    seen = _formats_along(steps, x.client_format)
    for step, fmt in zip(reversed(steps), reversed(seen)):
        hook = getattr(step.plugin, "response", None)
        if hook is None:
            continue
        started = time.perf_counter()
        x.format = fmt
        try:
            body = hook(x, body)
        except Exception as e:
            raise _fail(step, e) from e
        if _TRACE:
            _trace(step, "response", started)
    return body


def _guarded(step: Step, events: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from events
    except PluginError:
        raise
    except Exception as e:
        raise _fail(step, e) from e


def run_stream(steps: Sequence[Step], x, events: Iterator[Any]) -> Iterator[Any]:
    """Chain every stream hook as generators (last step innermost-first); returns the output events.

    Hooks are called here, once, with `x.format` set to the format at their place in the pipeline
    (as in run_response); they must read it when called, not later inside their generator.
    """
    seen = _formats_along(steps, x.client_format)
    final = x.format
    for step, fmt in zip(reversed(steps), reversed(seen)):
        hook = getattr(step.plugin, "stream", None)
        if hook is not None:
            x.format = fmt
            events = _guarded(step, hook(x, events))
    x.format = final
    return events


def has_hook(steps: Sequence[Step], name: str) -> bool:
    """Whether any step defines hook `name`."""
    return any(getattr(s.plugin, name, None) is not None for s in steps)


def converts_from(steps: Sequence[Step], format_id: Optional[str]) -> bool:
    """Whether a converter step in `steps` takes requests in `format_id` (then no auto converter)."""
    return any(getattr(s.plugin, "source_format", None) == format_id for s in steps)
