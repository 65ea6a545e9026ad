"""The generated converters: all 12 ids exist, and each converts request, response and stream."""
from types import SimpleNamespace

import pytest

from tresor import formats, plugins
from tresor.formats import ir
from tresor.gateway.routing import Route
from tresor.config.model import Downstream
from tresor.plugins.convert import PLUGINS, converter_id

PAIRS = [(s, t) for s in formats.FORMAT_IDS for t in formats.FORMAT_IDS if s != t]
IR_REQUEST = ir.Request(model="m", system=[ir.Text("be brief")], messages=[ir.Message("user", [ir.Text("hello")])],
                        max_tokens=64)


def test_all_twelve_ids_exist_including_responses2gemini():
    ids = {cls.id for cls in PLUGINS}
    assert len(ids) == 12 and {"responses2gemini", "anthropic2openai", "gemini2responses"} <= ids
    assert all(i in plugins.ids() for i in ids)


def _x(source, is_stream=False):
    body = formats.get(source).render_request(IR_REQUEST)
    route = Route(Downstream("d", "D", "http://d"), "target-model")
    return SimpleNamespace(format=source, body=body, model="m", is_stream=is_stream, route=route, meta={},
                           headers={"anthropic-beta": "x", "user-agent": "ua"}, path="", query="", notes=[])


@pytest.mark.parametrize("source, target", PAIRS, ids=["%s->%s" % p for p in PAIRS])
def test_request_is_rendered_in_the_target_format_with_the_output_model(source, target):
    x = _x(source)
    plugins.create(converter_id(source, target)).request(x)
    assert x.format == target and x.path == formats.get(target).request_path("target-model", False)[0]
    parsed = formats.get(target).parse_request(x.body, model="target-model")
    assert parsed.model == "target-model"
    assert [p.text for m in parsed.messages for p in m.parts if isinstance(p, ir.Text)][-1].endswith("hello")
    assert ("anthropic-beta" in x.headers) is (target == "anthropic")  # only the target family's headers stay


@pytest.mark.parametrize("source, target", PAIRS, ids=["%s->%s" % p for p in PAIRS])
def test_response_and_stream_come_back_in_the_client_format(source, target):
    plugin = plugins.create(converter_id(source, target))
    x = _x(source, is_stream=True)
    plugin.request(x)
    answer = ir.Response(id="r1", model="target-model", parts=[ir.Text("hi there")], stop_reason="end",
                         usage=ir.Usage(input_tokens=3, output_tokens=2))
    body = plugin.response(x, formats.get(target).render_response(answer, None))
    back = formats.get(source).parse_response(body)
    assert [p.text for p in back.parts if isinstance(p, ir.Text)] == ["hi there"]
    events = [ir.Start("r1", "target-model"), ir.PartStart(0, ir.Text("")), ir.Delta(0, text="hi"),
              ir.PartStop(0), ir.Finish("end", ir.Usage(input_tokens=3, output_tokens=1))]
    wire = list(formats.get(target).render_stream(iter(events), None))
    out = list(plugin.stream(x, iter(wire)))
    text = "".join(e.text for e in formats.get(source).parse_stream(iter(out)) if isinstance(e, ir.Delta))
    assert text == "hi"
