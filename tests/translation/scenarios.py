"""The translation matrix's scenario table: what each client asks and what the stub upstream answers.

A scenario says which request features a client driver sends (tools, a tool-result turn, thinking,
images) and gives the upstream's answer as IR (`answer`), so every downstream format can render the
same answer with its own module (tests/translation/stubs.py). The expectations a client must see
are derived from that answer: text, tool calls, reasoning text, stop reason and usage.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import List, Optional, Tuple

from tresor.formats import ir

FORMATS = ("openai", "openai_responses", "anthropic", "gemini")
# The model id each downstream serves (one downstream per format, see conftest.py).
MODELS = {"openai": "gpt-x", "openai_responses": "resp-x", "anthropic": "claude-x", "gemini": "gemini-x"}

SYSTEM = "You are a terse weather bot."
USER = "What is the weather like in Paris?"
TOOL_NAME = "get_weather"
TOOL_DESCRIPTION = "Current weather for a city"
# Exactly what openai.pydantic_function_tool(GetWeather) sends, so every client sends the same schema.
SCHEMA = {"properties": {"city": {"title": "City", "type": "string"}}, "required": ["city"],
          "title": "GetWeather", "type": "object", "additionalProperties": False}
TIME_TOOL, TIME_DESCRIPTION = "get_time", "Current time in a time zone"
TIME_SCHEMA = {"properties": {"tz": {"title": "Tz", "type": "string"}}, "required": ["tz"], "title": "GetTime",
               "type": "object", "additionalProperties": False}
# The previous turn of the tool-result scenario: a call and its result.
CALL_ID = "call_7Yx3"
CALL_ARGS = {"city": "Paris"}
RESULT_TEXT = "18C and sunny"
IMAGE_URL = "https://example.com/cat.png"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
                       "RU5ErkJggg==")
PNG_B64 = base64.b64encode(PNG).decode("ascii")
THINKING_BUDGET = 2048


@dataclass
class Scenario:
    """One row of the table. `answer` is None when the stub sends no IR answer (error, native samples)."""

    name: str
    answer: Optional[ir.Response] = None
    is_error: bool = False
    has_tools: bool = False
    has_time_tool: bool = False  # also offer get_time (the native samples call both tools)
    has_history: bool = False
    has_reasoning: bool = False
    has_images: bool = False
    interleave: bool = False  # stream parallel tool calls' arguments side by side

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.answer.parts if isinstance(p, ir.Text))

    @property
    def reasoning(self) -> str:
        return "".join(p.text for p in self.answer.parts if isinstance(p, ir.Reasoning))

    @property
    def calls(self) -> List[Tuple[str, str, dict]]:
        return [(p.id, p.name, json.loads(p.arguments)) for p in self.answer.parts if isinstance(p, ir.ToolCall)]

    @property
    def usage(self) -> Tuple[int, int]:
        return self.answer.usage.input_tokens, self.answer.usage.output_tokens


def _answer(parts, stop="end", output=9, reasoning_tokens=None) -> ir.Response:
    return ir.Response(id="up_1", model="upstream-model", parts=parts, stop_reason=stop,
                       usage=ir.Usage(input_tokens=21, output_tokens=output, reasoning_tokens=reasoning_tokens))


def _call(call_id: str, city: str) -> ir.ToolCall:
    return ir.ToolCall(call_id, TOOL_NAME, json.dumps({"city": city}))


SCENARIOS = {s.name: s for s in (
    Scenario("text", _answer([ir.Text("Hello from the stub upstream.")])),
    Scenario("tool_call", _answer([_call("call_a1", "Paris")], "tool_use"), has_tools=True),
    Scenario("tool_result", _answer([ir.Text("It is 18C and sunny in Paris.")]), has_tools=True, has_history=True),
    Scenario("reasoning", _answer([ir.Reasoning("The user wants a greeting; keep it short."), ir.Text("Bonjour!")],
                                  output=40, reasoning_tokens=30), has_reasoning=True),
    Scenario("image", _answer([ir.Text("Two cats.")]), has_images=True),
    Scenario("parallel_tool_calls", _answer([_call("call_p1", "Paris"), _call("call_p2", "London")], "tool_use"),
             has_tools=True, interleave=True),
    Scenario("error", is_error=True),
)}
# Answers written natively in each format (samples.py): reasoning (signed), text, two parallel calls.
NATIVE = Scenario("native", has_tools=True, has_time_tool=True, has_reasoning=True)


def stream_events(answer: ir.Response, interleave: bool = False) -> List[ir.StreamEvent]:
    """The IR stream of `answer`: each part's content in two deltas; with `interleave`, tool calls'
    argument deltas alternate between calls (as OpenAI streams parallel calls)."""
    events: List[ir.StreamEvent] = [ir.Start(id=answer.id, model=answer.model,
                                             usage=ir.Usage(input_tokens=answer.usage.input_tokens))]
    tails = []
    for index, part in enumerate(answer.parts):
        content = part.arguments if isinstance(part, ir.ToolCall) else part.text
        head, tail = content[: len(content) // 2], content[len(content) // 2:]
        start = ir.ToolCall(part.id, part.name, "") if isinstance(part, ir.ToolCall) else type(part)("")
        events.append(ir.PartStart(index, start))
        events.append(_delta(index, part, head))
        if interleave and isinstance(part, ir.ToolCall):
            tails.append((index, part, tail))
            continue
        events += [_delta(index, part, tail), ir.PartStop(index)]
    events += [_delta(index, part, tail) for index, part, tail in tails]
    events += [ir.PartStop(index) for index, _, _ in tails]
    events.append(ir.Finish(answer.stop_reason, answer.usage))
    return events


def _delta(index: int, part, chunk: str) -> ir.Delta:
    return ir.Delta(index, arguments=chunk) if isinstance(part, ir.ToolCall) else ir.Delta(index, text=chunk)


def broken_stream_events() -> List[ir.StreamEvent]:
    """Some text, then an error inside the (HTTP 200) stream."""
    return [ir.Start(id="up_2", model="upstream-model", usage=ir.Usage(input_tokens=21)),
            ir.PartStart(0, ir.Text("")), ir.Delta(0, text="Partial "), ir.Delta(0, text="answer"),
            ir.Error(503, "the upstream model is overloaded", "overloaded_error")]


MID_STREAM_TEXT = "Partial answer"
