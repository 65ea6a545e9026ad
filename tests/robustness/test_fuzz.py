"""Fuzz pass (hypothesis): random JSON-ish input to each format's parsers and to the engine's request
path never raises anything but a clear Tresor error, never answers 500 and never hangs.

Inputs are JSON values whose object keys come mostly from the four formats' own field names, so the
parsers get past their first type check. Every target runs `max_examples` derandomized examples
(the same ones on every run of this hypothesis version); each example is bounded by a deadline
and by a hard wall-clock limit in a worker thread.
"""
import datetime
import json
import logging
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.robustness import support
from tests.support import basic_config
from tresor import app as app_module, config as config_io, formats
from tresor.errors import TresorError
from tresor.formats import sse
from tresor.httpio import Request

# 60 examples per target keep the whole file near a minute on 2 cores (24 targets); set
# TRESOR_FUZZ_EXAMPLES for a deeper run (the campaign ran 800 per target).
EXAMPLES = int(os.environ.get("TRESOR_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=datetime.timedelta(seconds=2),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
HARD_LIMIT_S = 5.0  # a hung example fails here instead of blocking the run

KEYS = (
    "model", "messages", "role", "content", "type", "text", "tools", "tool_calls", "tool_choice", "function",
    "arguments", "name", "id", "input", "system", "parts", "contents", "systemInstruction", "system_instruction",
    "functionCall", "functionResponse", "args", "response", "inlineData", "data", "mimeType", "image_url", "url",
    "source", "media_type", "tool_use_id", "is_error", "thinking", "signature", "reasoning", "summary",
    "encrypted_content", "call_id", "output", "instructions", "max_tokens", "max_output_tokens", "stream",
    "stream_options", "include_usage", "temperature", "stop", "stop_sequences", "response_format", "json_schema",
    "schema", "generationConfig", "thinkingConfig", "choices", "delta", "message", "finish_reason", "usage",
    "candidates", "finishReason", "usageMetadata", "stop_reason", "index", "content_block", "item",
    "output_index", "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "error", "code",
    "status", "parameters", "input_schema", "cache_control", "thought", "thoughtSignature", "refusal",
    "partial_json", "functionDeclarations", "user", "metadata", "tool_result", "tool_use", "image", "document",
    "input_text", "output_text", "function_call", "function_call_output", "reasoning_content", "item_id",
)
EVENT_NAMES = (
    "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
    "message_stop", "ping", "error", "response.created", "response.output_item.added",
    "response.output_text.delta", "response.function_call_arguments.delta", "response.output_item.done",
    "response.completed", "response.failed", "response.incomplete", "response.reasoning_summary_text.delta",
)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 6),
                     st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(KEYS + EVENT_NAMES),
                     st.text(max_size=8))
_keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=5))
JSONISH = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_keys, inner, max_size=6)), max_leaves=30)
OBJECTS = st.dictionaries(_keys, JSONISH, max_size=8)
EVENTS = st.lists(st.builds(sse.SSEEvent, data=st.one_of(JSONISH.map(json.dumps), OBJECTS.map(json.dumps),
                                                         st.text(max_size=12)),
                            event=st.one_of(st.none(), st.sampled_from(EVENT_NAMES))), max_size=8)


def bounded(fn, *args):
    """Run fn(*args) in a worker thread; fail the example if it takes over HARD_LIMIT_S."""
    outcome = {}

    def work():
        try:
            outcome["value"] = fn(*args)
        except BaseException as e:  # re-raised in the test thread
            outcome["error"] = e

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(HARD_LIMIT_S)
    assert not worker.is_alive(), "hung for over %.0f s on %r" % (HARD_LIMIT_S, args)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _quietly(fn, *args):
    """fn(*args), where a TresorError (a clear, typed error for the client) counts as handled."""
    try:
        return fn(*args)
    except TresorError:
        return None


# Inputs that crashed a parser before this campaign fixed it (found by this fuzz pass): each must
# now give an IR value or a ClientError, never an untyped exception.
KNOWN = [
    ("openai", "request", {"tools": [[]]}),
    ("openai", "request", {"tools": [-4.5, "stop_reason", None, 2]}),
    ("openai_responses", "response", {"status": {}}),
    ("openai_responses", "response", {"status": "incomplete", "incomplete_details": [1]}),
    ("openai_responses", "response", {"status": "incomplete", "incomplete_details": {"reason": {}}}),
    ("anthropic", "response", {"stop_reason": {}}),
    ("anthropic", "request", {"max_tokens": 5, "messages": [], "tool_choice": {"type": []}}),
    ("openai_responses", "stream", [{"type": [1]}]),
    ("openai_responses", "stream", [{"type": False, "delta": "x"}]),
    ("openai_responses", "stream", [{"type": "response.output_item.added", "item": {"id": [], "call_id": {}}},
                                    {"type": "response.output_text.delta", "item_id": [1], "delta": "x"}]),
    ("openai", "stream", [{"error": {"type": []}}]),
    ("openai_responses", "request", {"tools": True}),
    ("openai_responses", "stream", [{"type": "response.function_call_arguments.delta", "item": [1], "delta": "x"}]),
]


@pytest.mark.parametrize("fmt,target,value", KNOWN, ids=["%s-%s-%d" % (f, t, i) for i, (f, t, _) in enumerate(KNOWN)])
def test_known_hostile_inputs_are_handled(fmt, target, value):
    module = formats.get(fmt)
    if target == "request":
        _quietly(lambda: module.parse_request(value, model="m", is_stream=False))
    elif target == "response":
        _quietly(lambda: module.parse_response(value))
    else:
        events = [sse.SSEEvent(data=json.dumps(v), event="response.function_call_arguments.delta"
                               if v.get("type") is False else None) for v in value]
        _quietly(lambda: list(module.parse_stream(iter(events))))


@pytest.mark.parametrize("fmt", support.FORMATS)
def test_parse_request_raises_only_client_errors(fmt):
    module = formats.get(fmt)

    @FUZZ
    @given(body=OBJECTS, stream=st.booleans())
    def check(body, stream):
        bounded(_quietly, lambda: module.parse_request(body, model="m", is_stream=stream))

    check()


@pytest.mark.parametrize("fmt", support.FORMATS)
def test_parse_response_never_raises_on_any_json_object(fmt):
    # The relay only hands parse_response a JSON object (anything else is a 502 before it).
    module = formats.get(fmt)

    @FUZZ
    @given(body=OBJECTS)
    def check(body):
        bounded(_quietly, lambda: module.parse_response(body))

    check()


@pytest.mark.parametrize("fmt", support.FORMATS)
def test_parse_stream_never_raises_on_any_event_sequence(fmt):
    module = formats.get(fmt)

    @FUZZ
    @given(events=EVENTS)
    def check(events):
        bounded(_quietly, lambda: list(module.parse_stream(iter(events))))

    check()


class StubAnswer:
    """Stands in for upstream.UpstreamResponse: a whole body or SSE lines, read from memory."""

    def __init__(self, status, body, is_stream):
        self.status, self.reason = status, "OK"
        self.is_event_stream = is_stream
        self.headers = [("Content-Type", "text/event-stream" if is_stream else "application/json")]
        self._lines = body.splitlines(keepends=True) if is_stream else []
        self._body = body

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def read(self):
        return self._body

    def readline(self, limit=1 << 20):
        return self._lines.pop(0) if self._lines else b""

    def abort(self):
        self._lines = []

    def close(self):
        pass


class StubPool:
    """The App's upstream pool, answering from memory: `answer(url, body)` -> StubAnswer."""

    def __init__(self, answer):
        self.answer = answer

    def send(self, method, url, headers, body, **kwargs):
        return self.answer(url, body)

    def close(self):
        pass

    def set_proxy_mode(self, mode):
        pass


def _wants_stream(url, body):
    if ":streamGenerateContent" in url:
        return True
    try:
        return json.loads(body).get("stream") is True
    except (ValueError, AttributeError):
        return False


def _downstream_format(url):
    if "/messages" in url:
        return "anthropic"
    if "/responses" in url:
        return "openai_responses"
    return "gemini" if "/models/" in url else "openai"


def canned_answer(url, body):
    """The canned text answer (stream or not) in the format the upstream URL implies."""
    fmt = _downstream_format(url)
    if _wants_stream(url, body):
        chunks = support.UPSTREAM_STREAM[fmt]
        return StubAnswer(200, "".join(chunks).encode(), True)
    return StubAnswer(200, json.dumps(support.UPSTREAM_TEXT[fmt]).encode(), False)


class ErrorLog(logging.Handler):
    """Collects tresor log records that carry an exception (a crash somewhere behind the engine)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.crashes = []

    def emit(self, record):
        if record.exc_info:
            self.crashes.append(self.format(record))


@pytest.fixture
def engine_app(tmp_path):
    """An in-process App with the four downstreams, its pool replaced by a StubPool."""
    path = basic_config(tmp_path, support.DOWNSTREAMS.format(url="http://127.0.0.1:9"))
    app = app_module.build(config_io.load(path), str(tmp_path))
    app.pool.close()
    app.pool = StubPool(canned_answer)
    errors = ErrorLog()
    logging.getLogger("tresor").addHandler(errors)
    app.crashes = errors.crashes
    yield app
    logging.getLogger("tresor").removeHandler(errors)
    app.close()


def answer_fully(app, request):
    """App.handle, then the whole body (a stream is drained); returns (status, body bytes)."""
    response = app.handle(request)
    if not response.is_stream:
        return response.status, response.body
    try:
        return response.status, b"".join(response.body)
    finally:
        getattr(response.body, "close", lambda: None)()


def _path_for(client_format, model, stream):
    path, _ = support.client_request(client_format, model, stream)
    return path.partition("?")


def _assert_no_crash(app, status, body):
    assert status != 500, body[:500]
    assert b"internal error in Tresor" not in body, body[:500]
    assert not app.crashes, app.crashes[0]


@pytest.mark.parametrize("client_format", support.FORMATS)
def test_engine_answers_random_request_bodies_without_500(engine_app, client_format):
    @FUZZ
    @given(body=OBJECTS, downstream=st.sampled_from(support.FORMATS), stream=st.booleans())
    def check(body, downstream, stream):
        engine_app.crashes.clear()
        model = support.MODEL[downstream]
        path, _, query = _path_for(client_format, model, stream)
        if client_format != "gemini":
            body = dict(body, model=model, stream=stream)
        request = Request("POST", path, query, {"content-type": "application/json"},
                          json.dumps(body).encode(), "127.0.0.1")
        status, raw = bounded(answer_fully, engine_app, request)
        _assert_no_crash(engine_app, status, raw)

    check()


@pytest.mark.parametrize("downstream", support.FORMATS)
def test_engine_translates_random_upstream_json_without_500(engine_app, downstream):
    @FUZZ
    @given(answer=OBJECTS, client_format=st.sampled_from([f for f in support.FORMATS if f != downstream]))
    def check(answer, client_format):
        engine_app.crashes.clear()
        engine_app.pool.answer = lambda url, body: StubAnswer(200, json.dumps(answer).encode(), False)
        path, body = support.client_request(client_format, support.MODEL[downstream], False)
        request = Request("POST", path, "", {"content-type": "application/json"}, json.dumps(body).encode(),
                          "127.0.0.1")
        status, raw = bounded(answer_fully, engine_app, request)
        _assert_no_crash(engine_app, status, raw)

    check()


@pytest.mark.parametrize("downstream", support.FORMATS)
def test_engine_translates_random_upstream_events_without_crashing(engine_app, downstream):
    @FUZZ
    @given(events=EVENTS, client_format=st.sampled_from([f for f in support.FORMATS if f != downstream]))
    def check(events, client_format):
        engine_app.crashes.clear()
        first = support.UPSTREAM_STREAM[downstream][0].encode()  # a valid opening event, then the noise
        wire = first + b"".join(e.encode() for e in events)
        engine_app.pool.answer = lambda url, body: StubAnswer(200, wire, True)
        path, body = support.client_request(client_format, support.MODEL[downstream], True)
        path, _, query = path.partition("?")
        request = Request("POST", path, query, {"content-type": "application/json"}, json.dumps(body).encode(),
                          "127.0.0.1")
        status, raw = bounded(answer_fully, engine_app, request)
        _assert_no_crash(engine_app, status, raw)

    check()


# Engine-level inputs that gave a 500 before this campaign fixed them (found by the deep run):
# (client format, downstream format, body).
KNOWN_ENGINE = [
    ("openai_responses", "openai", {"tools": True}),
    ("openai_responses", "anthropic", {"temperature": {}}),
    ("openai_responses", "anthropic", {"temperature": "hot"}),
    ("openai_responses", "anthropic", {"max_output_tokens": {"n": 1}, "reasoning": {"effort": "high"}}),
]


@pytest.mark.parametrize("client_format,downstream,body", KNOWN_ENGINE)
def test_known_hostile_request_bodies_are_4xx_not_500(engine_app, client_format, downstream, body):
    model = support.MODEL[downstream]
    path, _, query = _path_for(client_format, model, False)
    raw = json.dumps(dict(body, model=model, input="hi")).encode()
    status, answer = answer_fully(engine_app, Request("POST", path, query, {"content-type": "application/json"},
                                                      raw, "127.0.0.1"))
    _assert_no_crash(engine_app, status, answer)
