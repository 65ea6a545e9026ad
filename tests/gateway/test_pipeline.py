"""Rule matching (tiers, filters, candidates), compile caching, hook order and failure policy."""
from types import SimpleNamespace

import pytest

from tresor.config.model import Downstream, PipelineStep, Rule
from tresor.errors import PluginError
from tresor.formats.sse import SSEEvent
from tresor.gateway import pipeline
from tresor.gateway.routing import Route

DS = Downstream("d1", "D", "http://d", api_formats=("anthropic",), output_model_ids=("out-model",))


def _x(path="/v1/chat/completions", model="m", client_format="openai", alias_group=None):
    route = Route(DS, "out-model", alias_group)
    return SimpleNamespace(request=SimpleNamespace(path=path), route=route, model=model, client_format=client_format,
                           format=client_format,
                           response=None, headers={}, meta={}, body={})


def _rule(rule_id, **kw):
    kw.setdefault("pipeline_config", (PipelineStep("custom_header", {"headers": {"x-rule": rule_id}}),))
    return Rule(rule_id, **kw)


def _ids(steps):
    return [s.rule_id for s in steps]


def test_rules_apply_in_the_four_priority_tiers_whatever_their_order():
    rules = [_rule("any"), _rule("path", pattern_path="/v1/chat/completions"),
             _rule("star-model", pattern_models=("m",)), _rule("path-model", pattern_path="/v1/chat/completions",
                                                             pattern_models=("m",))]
    compiled = pipeline.compile_rules([(r, 1) for r in rules])
    assert _ids(pipeline.match(compiled, _x())) == ["path-model", "star-model", "path", "any"]


@pytest.mark.parametrize("rule, matches", [
    (_rule("r", pattern_path="/v1/messages"), False),
    (_rule("r", pattern_models=("out-model",)), True),       # the resolved downstream's models are candidates
    (_rule("r", pattern_models=("grp",)), True),             # the alias group name too
    (_rule("r", pattern_models=("zzz",)), False),
    (_rule("r", match_format=("openai",)), True),
    (_rule("r", match_format=("gemini",)), False),
    (_rule("r", match_downstream_format=("anthropic", "gemini")), True),
    (_rule("r", match_downstream_format=("openai",)), False),
    (_rule("r", match_downstreams=("d1",)), True),
    (_rule("r", match_downstreams=("d2",)), False),
    (_rule("r", is_enabled=False), False),
])
def test_rule_filters(rule, matches):
    compiled = pipeline.compile_rules([(rule, 1)])
    assert bool(pipeline.match(compiled, _x(alias_group="grp"))) is matches


def test_compiled_rules_are_reused_until_the_version_changes():
    rule = _rule("r")
    first = pipeline.compile_rules([(rule, 1)])
    assert pipeline.compile_rules([(rule, 1)], first)[0] is first[0]
    assert pipeline.compile_rules([(rule, 2)], first)[0] is not first[0]


def test_a_rule_with_an_unknown_plugin_is_skipped_not_fatal():
    rule = Rule("bad", pipeline_config=(PipelineStep("no_such_plugin"),))
    assert pipeline.compile_rules([(rule, 1)]) == ()


class _Upper:
    id = "upper"

    def stream(self, x, events):
        for event in events:
            yield SSEEvent(event.data.upper(), event.event)


class _Split:
    id = "split"

    def stream(self, x, events):
        for event in events:
            for char in event.data:
                yield SSEEvent(char)


class _Boom:
    id = "boom"

    def request(self, x):
        raise KeyError("nope")

    def response(self, x, body):
        raise ValueError("bad body")


def test_two_stream_plugins_chain_including_a_splitting_one():
    steps = (pipeline.Step(_Upper(), "a"), pipeline.Step(_Split(), "b"))
    out = list(pipeline.run_stream(steps, _x(), iter([SSEEvent("ab"), SSEEvent("c")])))
    assert [e.data for e in out] == ["A", "B", "C"]  # split (later step) runs first on the way back


def test_a_failing_hook_names_plugin_and_rule():
    steps = (pipeline.Step(_Boom(), "rule-7"),)
    with pytest.raises(PluginError) as info:
        pipeline.run_request(steps, _x())
    assert info.value.plugin_id == "boom" and "rule rule-7" in info.value.message
    with pytest.raises(PluginError):
        pipeline.run_response(steps, _x(), {})


def test_response_hooks_run_in_reverse_pipeline_order():
    seen = []

    class Tag:
        def __init__(self, name):
            self.id = name

        def response(self, x, body):
            seen.append(self.id)
            return body

    pipeline.run_response((pipeline.Step(Tag("first"), ""), pipeline.Step(Tag("second"), "")), _x(), {})
    assert seen == ["second", "first"]


def test_no_rules_means_no_work():
    assert pipeline.match((), _x()) == ()
