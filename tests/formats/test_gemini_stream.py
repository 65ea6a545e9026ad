"""The gemini format's streams: parse_stream grammar and tolerance, render_stream invariants (clients.md §2.3)."""
import io
import json
import os

import pytest

from tests.support import ROOT
from tresor.formats import gemini, ir
from tresor.formats.sse import SSEEvent, iter_events

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "gemini")
STREAMS = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".sse"))
# Fixtures in the renderer's canonical chunking: their round trip is exact, event for event.
EXACT = ["stream_error.sse", "stream_reasoning.sse", "stream_text.sse", "stream_tool_calls.sse"]
# What render_stream(parse_stream(x)) regenerates instead of copying (everything else is exact):
REGENERATED = (
    "chunk boundaries: one chunk per text delta; finishReason + usageMetadata on a final chunk of their own, "
    "which also carries completed function calls and signature-only parts (a trailing `{text: ''}` otherwise)",
    "usageMetadata only on the final chunk, rebuilt from IR usage (token-details lists dropped)",
    "a thoughtSignature that arrived on a non-empty text delta is re-emitted on an empty part after it",
    "finishReason normalised through the IR (RECITATION -> SAFETY, ...)",
    "parts with no stream IR form (inlineData, executableCode) are dropped",
)


def events_of(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return list(iter_events(io.BytesIO(f.read()).readline))


def parse(name):
    return list(gemini.parse_stream(iter(events_of(name))))


def sse(*chunks):
    return [SSEEvent(c if isinstance(c, str) else json.dumps(c)) for c in chunks]


def chunk(parts, finish=None, usage=None):
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body = {"candidates": [candidate], "responseId": "r-1", "modelVersion": "gemini-2.5-flash"}
    if usage:
        body["usageMetadata"] = usage
    return body


def assert_grammar(events):
    """Start (PartStart Delta* PartStop)* Finish, or Error last; indexes 0.. in order of appearance."""
    if isinstance(events[-1], ir.Error):
        assert not any(isinstance(e, ir.Error) for e in events[:-1])
        events = events[:-1]
        if not events:
            return
    else:
        assert isinstance(events[-1], ir.Finish)
        assert sum(isinstance(e, ir.Finish) for e in events) == 1
    assert isinstance(events[0], ir.Start) and sum(isinstance(e, ir.Start) for e in events) == 1
    opened, seen = set(), 0
    for event in events[1:]:
        if isinstance(event, ir.PartStart):
            assert event.index == seen
            opened.add(event.index)
            seen += 1
        elif isinstance(event, (ir.Delta, ir.PartStop)):
            assert event.index in opened
            if isinstance(event, ir.PartStop):
                opened.remove(event.index)
    assert not opened or not isinstance(events[-1], ir.Finish)


def flat_parts(payloads):
    """The answer a client reassembles: parts across chunks, adjacent text of one kind merged."""
    out = []
    for body in payloads:
        for part in body.get("candidates", [{}])[0].get("content", {}).get("parts", []):
            if out and "text" in part and "text" in out[-1] and part.get("thought") == out[-1].get("thought") \
                    and "thoughtSignature" not in out[-1]:
                out[-1] = dict(out[-1], text=out[-1]["text"] + part["text"], **{
                    k: v for k, v in part.items() if k == "thoughtSignature"})
            elif part != {"text": ""}:
                out.append(dict(part))
    return out


def render(events, request=None):
    return [json.loads(e.data) for e in gemini.render_stream(iter(events), request)]


# ---- parse --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", STREAMS)
def test_every_fixture_parses_into_the_ir_grammar(name):
    assert_grammar(parse(name))


@pytest.mark.parametrize("name", EXACT)
def test_canonical_stream_round_trips_event_for_event(name):
    source = events_of(name)
    out = list(gemini.render_stream(gemini.parse_stream(iter(source)), None))
    assert [e.event for e in out] == [None] * len(source)
    assert [json.loads(e.data) for e in out] == [json.loads(e.data) for e in source]


@pytest.mark.parametrize("name", ["stream_realistic.sse", "stream_signature_lead.sse"])
def test_real_gemini_stream_round_trips_modulo_regenerated_fields(name):
    source = [json.loads(e.data) for e in events_of(name)]
    out = render(parse(name))
    assert flat_parts(out) == flat_parts(source)
    assert out[-1]["candidates"][0]["finishReason"] == source[-1]["candidates"][0]["finishReason"]
    core = ("promptTokenCount", "candidatesTokenCount", "totalTokenCount", "thoughtsTokenCount")
    assert {k: v for k, v in out[-1]["usageMetadata"].items() if k in core} == \
        {k: v for k, v in source[-1]["usageMetadata"].items() if k in core}


def test_regenerated_stream_fields_stay_a_short_documented_list():
    assert 0 < len(REGENERATED) <= 5


def test_parse_text_stream_keeps_the_first_chunk():
    # Go translators lost the first chunk's text (upstream-tresor.md §4.11).
    events = parse("stream_text.sse")
    assert events[0] == ir.Start(id="kWTaaKfTBNO0z7IP_r2x8Q4", model="gemini-2.5-flash")
    assert events[1] == ir.PartStart(0, ir.Text(""))
    assert [e.text for e in events if isinstance(e, ir.Delta)] == ["The capital", " of Germany", " is Berlin."]
    assert events[-1] == ir.Finish("end", ir.Usage(input_tokens=9, output_tokens=7))


def test_every_part_of_a_chunk_is_processed_in_order():
    # Go emitted one part per chunk and dropped text after a thought in the same chunk.
    events = list(gemini.parse_stream(iter(sse(chunk([
        {"text": "plan", "thought": True}, {"text": "Answer"}, {"functionCall": {"name": "f", "args": {"a": 1}}},
        {"text": " more"}], "STOP")))))
    assert_grammar(events)
    starts = [e.part for e in events if isinstance(e, ir.PartStart)]
    assert starts == [ir.Reasoning(""), ir.Text(""), ir.ToolCall("call_r-1_0", "f", ""), ir.Text("")]
    assert [(e.index, e.text or e.arguments) for e in events if isinstance(e, ir.Delta)] == [
        (0, "plan"), (1, "Answer"), (2, '{"a":1}'), (3, " more")]
    assert events[-1].stop_reason == "tool_use"


def test_parse_reasoning_stream_attaches_the_trailing_signature():
    events = parse("stream_reasoning.sse")
    starts = [e for e in events if isinstance(e, ir.PartStart)]
    assert [type(e.part) for e in starts] == [ir.Reasoning, ir.Text]
    stops = [e for e in events if isinstance(e, ir.PartStop)]
    assert stops[1].extras == {"gemini": {"signature_part": {"text": "", "thoughtSignature": "CvEBAVSoXO0GkQ2z"}}}
    assert events[-1].usage == ir.Usage(input_tokens=12, output_tokens=309, cache_read_tokens=0, reasoning_tokens=300)


def test_parse_parallel_tool_calls_each_get_their_own_index_and_id():
    events = parse("stream_tool_calls.sse")
    calls = [e for e in events if isinstance(e, ir.PartStart) and isinstance(e.part, ir.ToolCall)]
    assert [(e.index, e.part.id, e.part.name) for e in calls] == [
        (1, "call_kWTaaKfTBNO0z7IP_r2x8Q4_0", "get_weather"), (2, "call_kWTaaKfTBNO0z7IP_r2x8Q4_1", "get_weather"),
        (3, "call_kWTaaKfTBNO0z7IP_r2x8Q4_2", "now")]
    args = {e.index: e.arguments for e in events if isinstance(e, ir.Delta) and e.arguments}
    assert args == {1: '{"city":"Paris"}', 2: '{"city":"Tokyo"}', 3: "{}"}
    stop = next(e for e in events if isinstance(e, ir.PartStop) and e.index == 1)
    assert stop.extras == {"gemini": {"thoughtSignature": "EpoCCpcCAVSoXO2B3yPq", "synthetic_id": True}}
    assert events[-1].stop_reason == "tool_use"


def test_usage_after_the_finish_chunk_is_waited_for():
    events = parse("stream_usage_trailing.sse")
    assert events[-1] == ir.Finish("end", ir.Usage(input_tokens=4, output_tokens=2))


def test_usage_on_several_chunks_last_wins_and_start_carries_input_tokens():
    events = parse("stream_realistic.sse")
    assert events[0].usage == ir.Usage(input_tokens=5)
    assert events[-1].usage == ir.Usage(input_tokens=5, output_tokens=62, reasoning_tokens=54)


def test_truncated_stream_still_ends_with_finish():
    events = parse("stream_truncated.sse")
    assert_grammar(events)
    assert events[-1] == ir.Finish(None, ir.Usage())


def test_in_band_error_ends_the_stream_with_error():
    events = parse("stream_error.sse")
    assert events[-1] == ir.Error(503, "The model is overloaded. Please try again later.", "overloaded_error",
                                  "UNAVAILABLE")
    assert not any(isinstance(e, ir.Finish) for e in events)


@pytest.mark.parametrize("source", [
    sse(),
    sse("[DONE]"),
    sse("not json", chunk([{"text": "x"}]), "[DONE]", chunk([{"text": "ignored"}])),
    sse(json.dumps([chunk([{"text": "array framing"}], "STOP")])),
    sse({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}),
])
def test_parse_tolerates_odd_streams(source):
    events = list(gemini.parse_stream(iter(source)))
    assert_grammar(events)
    assert "ignored" not in [getattr(e, "text", None) for e in events]


def test_prompt_blocked_stream_finishes_with_content_filter():
    events = list(gemini.parse_stream(iter(sse({"promptFeedback": {"blockReason": "SAFETY"}}))))
    assert events[-1].stop_reason == "content_filter"


def test_signature_only_part_before_a_part_is_attached_to_it():
    events = parse("stream_signature_lead.sse")
    text_start = next(e for e in events if isinstance(e, ir.PartStart) and isinstance(e.part, ir.Text))
    assert text_start.part.extras == {"gemini": {"lead_part": {"text": "", "thoughtSignature": "BBB2"}}}
    signatures = [p["thoughtSignature"] for p in flat_parts(render(events)) if "thoughtSignature" in p]
    assert signatures == ["AAA1", "BBB2", "CCC3"]


def test_signature_only_part_at_the_very_end_is_not_lost():
    events = list(gemini.parse_stream(iter(sse(
        chunk([{"functionCall": {"name": "f", "args": {}}}]), chunk([{"text": "", "thoughtSignature": "Z"}], "STOP")))))
    assert_grammar(events)
    assert ir.PartStop(1, {"gemini": {"signature_part": {"text": "", "thoughtSignature": "Z"}}}) in events


# ---- render -------------------------------------------------------------------------------------

TEXT_RUN = [ir.Start("id-1", "m"), ir.PartStart(0, ir.Text("")), ir.Delta(0, "Hi"), ir.PartStop(0),
            ir.Finish("end", ir.Usage(3, 1))]


def test_render_stream_is_data_only_without_done_marker():
    out = list(gemini.render_stream(iter(TEXT_RUN), None))
    assert all(e.event is None and e.id is None for e in out)
    assert all(b"[DONE]" not in e.encode() and e.encode().startswith(b"data: {") for e in out)


def test_last_chunk_has_finish_reason_and_usage_and_only_it():
    out = render(TEXT_RUN)
    assert ["finishReason" in c["candidates"][0] for c in out] == [False, True]
    assert ["usageMetadata" in c for c in out] == [False, True]
    assert out[-1]["usageMetadata"] == {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4}


def test_every_chunk_is_a_model_candidate_with_index_and_ids():
    for body in render(TEXT_RUN):
        candidate = body["candidates"][0]
        assert candidate["index"] == 0 and candidate["content"]["role"] == "model" and candidate["content"]["parts"]
        assert (body["responseId"], body["modelVersion"]) == ("id-1", "m")


def test_render_without_start_takes_the_model_from_the_request():
    out = render(TEXT_RUN[1:], ir.Request(model="gemini-2.5-pro"))
    assert [b["modelVersion"] for b in out] == ["gemini-2.5-pro"] * 2 and "responseId" not in out[0]


def test_render_finish_with_open_parts_closes_them_first():
    out = render([ir.PartStart(0, ir.ToolCall("c1", "f", "")), ir.Delta(0, arguments='{"a":'),
                  ir.Delta(0, arguments="1}"), ir.Finish("tool_use", ir.Usage(1, 1))])
    assert len(out) == 1
    assert out[0]["candidates"][0]["content"]["parts"] == [{"functionCall": {"name": "f", "id": "c1", "args": {"a": 1}}}]
    assert out[0]["candidates"][0]["finishReason"] == "STOP"


def test_render_interleaved_parallel_tool_calls_keeps_each_calls_arguments():
    # OpenAI / Anthropic upstreams stream two calls' arguments side by side.
    out = render([ir.Start(), ir.PartStart(0, ir.Text("")), ir.Delta(0, "Checking."), ir.PartStop(0),
                  ir.PartStart(1, ir.ToolCall("call_a", "weather", "")), ir.PartStart(2, ir.ToolCall("call_b", "time", "")),
                  ir.Delta(1, arguments='{"city":'), ir.Delta(2, arguments='{"tz":"UTC"}'),
                  ir.Delta(1, arguments='"Paris"}'), ir.PartStop(1), ir.PartStop(2), ir.PartStart(3, ir.ToolCall("c", "g", "")),
                  ir.Delta(3, arguments="{not json"), ir.PartStop(3), ir.Finish("tool_use", ir.Usage(5, 9))])
    assert out[0]["candidates"][0]["content"]["parts"] == [{"text": "Checking."}]
    assert out[1]["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "weather", "id": "call_a", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "time", "id": "call_b", "args": {"tz": "UTC"}}},
        {"functionCall": {"name": "g", "id": "c", "args": {}}}]
    assert len(out) == 2 and out[1]["candidates"][0]["finishReason"] == "STOP"


def test_render_error_mid_stream_emits_the_error_event_and_stops():
    out = list(gemini.render_stream(iter(TEXT_RUN[:3] + [ir.Error(429, "slow down", "rate_limit_error"),
                                                         ir.Delta(0, "after")]), None))
    assert len(out) == 2 and out[-1].event is None
    assert json.loads(out[-1].data) == {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}


def test_render_stream_without_finish_synthesises_the_final_chunk():
    out = render(TEXT_RUN[:3])
    assert out[-1]["candidates"][0]["finishReason"] == "STOP"
    assert out[-1]["usageMetadata"] == {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0}
    assert out[-1]["candidates"][0]["content"]["parts"] == [{"text": ""}]


@pytest.mark.parametrize("stop, finish", [("max_tokens", "MAX_TOKENS"), ("content_filter", "SAFETY"),
                                          ("tool_use", "STOP"), ("end", "STOP"), (None, "STOP")])
def test_render_stream_maps_the_stop_reason(stop, finish):
    assert render([ir.Finish(stop)])[-1]["candidates"][0]["finishReason"] == finish


def test_render_reasoning_from_another_format_as_thought_parts():
    out = render([ir.Start(), ir.PartStart(0, ir.Reasoning("")), ir.Delta(0, "hmm"),
                  ir.PartStop(0, {"anthropic": {"signature": "x"}}), ir.PartStart(1, ir.Refusal("")),
                  ir.Delta(1, "no"), ir.PartStop(1), ir.Finish("end", ir.Usage(1, 5, reasoning_tokens=3))])
    assert [c["candidates"][0]["content"]["parts"] for c in out[:2]] == [[{"text": "hmm", "thought": True}],
                                                                         [{"text": "no"}]]
    assert out[-1]["usageMetadata"]["thoughtsTokenCount"] == 3
    assert out[-1]["usageMetadata"]["candidatesTokenCount"] == 2


def test_stream_state_is_per_generator():
    first = gemini.render_stream(iter(TEXT_RUN), None)
    second = gemini.render_stream(iter([ir.Start("id-2", "other")] + TEXT_RUN[1:]), None)
    a, b = json.loads(next(first).data), json.loads(next(second).data)
    assert (a["responseId"], b["responseId"]) == ("id-1", "id-2")
    parsers = [gemini.parse_stream(iter(events_of(n))) for n in ("stream_text.sse", "stream_tool_calls.sse")]
    assert [next(p).id for p in parsers] == ["kWTaaKfTBNO0z7IP_r2x8Q4"] * 2


# ---- conformance with the real google-genai SDK (test-only dependency; skipped when absent) -----

def _sdk_segments(raw):
    """google-genai's own SSE reader (the one that rejects `event:` lines and `[DONE]`)."""
    api_client = pytest.importorskip("google.genai._api_client")
    httpx = pytest.importorskip("httpx2")
    return list(api_client.HttpResponse({}, response_stream=httpx.Response(200, content=raw)).segments())


@pytest.mark.parametrize("name", STREAMS)
def test_google_genai_reads_every_rendered_stream(name):
    types = pytest.importorskip("google.genai.types")
    rendered = list(gemini.render_stream(gemini.parse_stream(iter(events_of(name))), None))
    segments = _sdk_segments(b"".join(e.encode() for e in rendered))
    assert segments == [json.loads(e.data) for e in rendered]
    if "error" in segments[-1]:
        return
    responses = [types.GenerateContentResponse._from_response(response=s, kwargs={}) for s in segments]
    assert responses[-1].candidates[0].finish_reason is not None
    assert responses[-1].usage_metadata.total_token_count is not None


def test_google_genai_sees_text_thoughts_and_calls():
    types = pytest.importorskip("google.genai.types")
    run = [ir.Start("id-1", "m"), ir.PartStart(0, ir.Reasoning("")), ir.Delta(0, "think"), ir.PartStop(0),
           ir.PartStart(1, ir.Text("")), ir.Delta(1, "Hi"), ir.PartStop(1), ir.PartStart(2, ir.ToolCall("c", "f", "")),
           ir.Delta(2, arguments='{"a":1}'), ir.PartStop(2), ir.Finish("tool_use", ir.Usage(3, 5, reasoning_tokens=2))]
    segments = _sdk_segments(b"".join(e.encode() for e in gemini.render_stream(iter(run), None)))
    responses = [types.GenerateContentResponse._from_response(response=s, kwargs={}) for s in segments]
    assert responses[0].candidates[0].content.parts[0].thought is True
    assert responses[1].text == "Hi"
    assert [(c.name, c.args) for c in responses[2].function_calls] == [("f", {"a": 1})]
    assert responses[2].usage_metadata.thoughts_token_count == 2
