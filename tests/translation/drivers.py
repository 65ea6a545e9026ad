"""Per-client drivers: how each real SDK sends a scenario and what it got back, in one shape.

`DRIVERS[format](gateway_url)` builds the SDK client once (max_retries=0 so retries never hide a
gateway error). `call(model, scenario, is_stream)` sends the scenario's request with the SDK's
strict helpers when streaming and returns a Result; `call_broken(model)` streams an answer that
fails after some text and returns (text seen before the error, the exception raised).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import anthropic
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel

from tests.translation import scenarios as sc


class GetWeather(BaseModel):
    city: str


class GetTime(BaseModel):
    tz: str


@dataclass
class Result:
    """What a client saw: answer text, tool calls (id, name, parsed args), the client format's own
    stop value, (input, output) tokens and the reasoning text."""

    text: str = ""
    calls: List[Tuple[Optional[str], str, Any]] = field(default_factory=list)
    stop: Any = None
    usage: Tuple[Optional[int], Optional[int]] = (None, None)
    reasoning: str = ""


def _whole_prompt(usage) -> int:
    """Anthropic's input_tokens excludes cache reads and writes; the other formats' counts include them."""
    return usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)


# ---- anthropic


class AnthropicDriver:
    """anthropic SDK: messages.stream(...).get_final_message() / messages.create(...)."""

    ERROR = anthropic.APIStatusError
    RATE_LIMIT = anthropic.RateLimitError
    STOP = {"end": "end_turn", "tool_use": "tool_use"}

    def __init__(self, url: str):
        self.client = anthropic.Anthropic(base_url=url, api_key="sk-client", max_retries=0, timeout=20)

    def kwargs(self, model: str, s: sc.Scenario) -> dict:
        content: List[dict] = [{"type": "text", "text": sc.USER}]
        if s.has_images:
            content += [{"type": "image", "source": {"type": "url", "url": sc.IMAGE_URL}},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": sc.PNG_B64}}]
        messages = [{"role": "user", "content": content}]
        if s.has_history:
            messages += [{"role": "assistant", "content": [{"type": "tool_use", "id": sc.CALL_ID, "name": sc.TOOL_NAME,
                                                            "input": sc.CALL_ARGS}]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": sc.CALL_ID,
                                                       "content": sc.RESULT_TEXT}]}]
        out = dict(model=model, max_tokens=4096, messages=messages,
                   system=[{"type": "text", "text": sc.SYSTEM, "cache_control": {"type": "ephemeral"}}])
        if s.has_tools:
            out["tools"] = [{"name": sc.TOOL_NAME, "description": sc.TOOL_DESCRIPTION, "input_schema": sc.SCHEMA}]
        if s.has_time_tool:
            out["tools"].append({"name": sc.TIME_TOOL, "description": sc.TIME_DESCRIPTION,
                                 "input_schema": sc.TIME_SCHEMA})
        if s.has_reasoning:
            out["thinking"] = {"type": "enabled", "budget_tokens": sc.THINKING_BUDGET}
        return out

    def call(self, model: str, s: sc.Scenario, is_stream: bool) -> Result:
        if is_stream:
            with self.client.messages.stream(**self.kwargs(model, s)) as stream:
                types_seen = [event.type for event in stream]
                final = stream.get_final_message()
            assert types_seen[-1] == "message_stop" and types_seen.count("message_stop") == 1, types_seen
            assert types_seen[0] == "message_start", types_seen
        else:
            final = self.client.messages.create(**self.kwargs(model, s))
        return Result(text="".join(b.text for b in final.content if b.type == "text"),
                      calls=[(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"],
                      stop=final.stop_reason, usage=(_whole_prompt(final.usage), final.usage.output_tokens),
                      reasoning="".join(b.thinking for b in final.content if b.type == "thinking"))

    def call_broken(self, model: str):
        text = []
        try:
            with self.client.messages.stream(**self.kwargs(model, sc.SCENARIOS["text"])) as stream:
                for chunk in stream.text_stream:
                    text.append(chunk)
        except Exception as e:  # noqa: BLE001 - the test asserts the class
            return "".join(text), e
        return "".join(text), None


# ---- openai chat completions


class OpenAIDriver:
    """openai SDK: chat.completions.stream(...).get_final_completion() / with_raw_response.create."""

    ERROR = openai.APIError
    RATE_LIMIT = openai.RateLimitError
    STOP = {"end": "stop", "tool_use": "tool_calls"}
    TOOL = openai.pydantic_function_tool(GetWeather, name=sc.TOOL_NAME, description=sc.TOOL_DESCRIPTION)
    TIME_TOOL = openai.pydantic_function_tool(GetTime, name=sc.TIME_TOOL, description=sc.TIME_DESCRIPTION)

    def __init__(self, url: str):
        self.client = openai.OpenAI(base_url=url + "/v1", api_key="sk-client", max_retries=0, timeout=20)

    def kwargs(self, model: str, s: sc.Scenario) -> dict:
        user: Any = sc.USER
        if s.has_images:
            user = [{"type": "text", "text": sc.USER},
                    {"type": "image_url", "image_url": {"url": sc.IMAGE_URL}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + sc.PNG_B64}}]
        messages = [{"role": "system", "content": sc.SYSTEM}, {"role": "user", "content": user}]
        if s.has_history:
            messages += [{"role": "assistant", "content": None, "tool_calls": [
                             {"id": sc.CALL_ID, "type": "function",
                              "function": {"name": sc.TOOL_NAME, "arguments": json.dumps(sc.CALL_ARGS)}}]},
                         {"role": "tool", "tool_call_id": sc.CALL_ID, "content": sc.RESULT_TEXT}]
        out = dict(model=model, messages=messages)
        if s.has_tools:
            out["tools"] = [self.TOOL] + ([self.TIME_TOOL] if s.has_time_tool else [])
        if s.has_reasoning:
            out["reasoning_effort"] = "medium"
        return out

    def call(self, model: str, s: sc.Scenario, is_stream: bool) -> Result:
        if is_stream:
            reasoning = []
            with self.client.chat.completions.stream(stream_options={"include_usage": True},
                                                      **self.kwargs(model, s)) as stream:
                for event in stream:
                    if event.type == "chunk" and event.chunk.choices:
                        # The SDK model has no reasoning_content field: read the raw chunk key.
                        reasoning.append((event.chunk.choices[0].delta.model_extra or {}).get("reasoning_content")
                                         or "")
                final = stream.get_final_completion()
            message = final.choices[0].message
            calls = [_validated(c) for c in message.tool_calls or []]
            return Result(text=message.content or "", calls=calls, stop=final.choices[0].finish_reason,
                          usage=(final.usage.prompt_tokens, final.usage.completion_tokens),
                          reasoning="".join(reasoning))
        raw = self.client.chat.completions.with_raw_response.create(**self.kwargs(model, s))
        completion, body = raw.parse(), json.loads(raw.text)
        message = completion.choices[0].message
        calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
        return Result(text=message.content or "", calls=calls, stop=completion.choices[0].finish_reason,
                      usage=(completion.usage.prompt_tokens, completion.usage.completion_tokens),
                      reasoning=body["choices"][0]["message"].get("reasoning_content") or "")

    def call_broken(self, model: str):
        text = []
        try:
            with self.client.chat.completions.stream(**self.kwargs(model, sc.SCENARIOS["text"])) as stream:
                for event in stream:
                    if event.type == "content.delta":
                        text.append(event.delta)
        except Exception as e:  # noqa: BLE001
            return "".join(text), e
        return "".join(text), None


def _validated(call) -> tuple:
    # The stream helper parsed the arguments into the pydantic model (ValidationError otherwise).
    assert call.function.parsed_arguments is not None, call
    return call.id, call.function.name, json.loads(call.function.arguments)


# ---- openai responses


class ResponsesDriver:
    """openai SDK: responses.stream(...).get_final_response() / responses.create(...)."""

    ERROR = openai.APIError
    RATE_LIMIT = openai.RateLimitError
    STOP = {"end": "completed", "tool_use": "completed"}

    def __init__(self, url: str):
        self.client = openai.OpenAI(base_url=url + "/v1", api_key="sk-client", max_retries=0, timeout=20)

    def kwargs(self, model: str, s: sc.Scenario) -> dict:
        content = [{"type": "input_text", "text": sc.USER}]
        if s.has_images:
            content += [{"type": "input_image", "image_url": sc.IMAGE_URL, "detail": "auto"},
                        {"type": "input_image", "image_url": "data:image/png;base64," + sc.PNG_B64, "detail": "auto"}]
        items: List[dict] = [{"role": "user", "content": content}]
        if s.has_history:
            items += [{"type": "function_call", "call_id": sc.CALL_ID, "name": sc.TOOL_NAME,
                       "arguments": json.dumps(sc.CALL_ARGS)},
                      {"type": "function_call_output", "call_id": sc.CALL_ID, "output": sc.RESULT_TEXT}]
        out = dict(model=model, instructions=sc.SYSTEM, input=items)
        if s.has_tools:
            out["tools"] = [{"type": "function", "name": sc.TOOL_NAME, "description": sc.TOOL_DESCRIPTION,
                             "parameters": sc.SCHEMA, "strict": True}]
        if s.has_time_tool:
            out["tools"].append({"type": "function", "name": sc.TIME_TOOL, "description": sc.TIME_DESCRIPTION,
                                 "parameters": sc.TIME_SCHEMA, "strict": True})
        if s.has_reasoning:
            out["reasoning"] = {"effort": "medium", "summary": "auto"}
        return out

    def call(self, model: str, s: sc.Scenario, is_stream: bool) -> Result:
        if is_stream:
            with self.client.responses.stream(**self.kwargs(model, s)) as stream:
                for _ in stream:
                    pass
                final = stream.get_final_response()
        else:
            final = self.client.responses.create(**self.kwargs(model, s))
        calls = [(i.call_id, i.name, json.loads(i.arguments)) for i in final.output if i.type == "function_call"]
        reasoning = "".join(p.text for i in final.output if i.type == "reasoning" for p in i.summary)
        return Result(text=final.output_text, calls=calls, stop=final.status,
                      usage=(final.usage.input_tokens, final.usage.output_tokens), reasoning=reasoning)

    def call_broken(self, model: str):
        text = []
        try:
            with self.client.responses.stream(**self.kwargs(model, sc.SCENARIOS["text"])) as stream:
                for event in stream:
                    if event.type == "response.output_text.delta":
                        text.append(event.delta)
                stream.get_final_response()
        except Exception as e:  # noqa: BLE001
            return "".join(text), e
        return "".join(text), None


# ---- google-genai


class GeminiDriver:
    """google-genai: models.generate_content_stream(...) (chunks) / models.generate_content(...)."""

    ERROR = genai_errors.APIError
    RATE_LIMIT = genai_errors.ClientError
    STOP = {"end": "STOP", "tool_use": "STOP"}

    def __init__(self, url: str):
        # Kept referenced by the driver: a collected genai.Client closes its HTTP client.
        self.client = genai.Client(api_key="gem-client", http_options=types.HttpOptions(
            base_url=url, api_version="v1beta", timeout=20000))

    def request(self, s: sc.Scenario):
        parts = [types.Part.from_text(text=sc.USER)]
        if s.has_images:
            parts += [types.Part.from_uri(file_uri=sc.IMAGE_URL, mime_type="image/png"),
                      types.Part.from_bytes(data=sc.PNG, mime_type="image/png")]
        contents = [types.Content(role="user", parts=parts)]
        if s.has_history:
            contents += [types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(
                             name=sc.TOOL_NAME, args=sc.CALL_ARGS))]),
                         types.Content(role="user", parts=[types.Part.from_function_response(
                             name=sc.TOOL_NAME, response={"result": sc.RESULT_TEXT})])]
        config = types.GenerateContentConfig(system_instruction=sc.SYSTEM)
        if s.has_tools:
            declarations = [types.FunctionDeclaration(name=sc.TOOL_NAME, description=sc.TOOL_DESCRIPTION,
                                                      parameters_json_schema=sc.SCHEMA)]
            if s.has_time_tool:
                declarations.append(types.FunctionDeclaration(name=sc.TIME_TOOL, description=sc.TIME_DESCRIPTION,
                                                              parameters_json_schema=sc.TIME_SCHEMA))
            config.tools = [types.Tool(function_declarations=declarations)]
            config.automatic_function_calling = types.AutomaticFunctionCallingConfig(disable=True)
        if s.has_reasoning:
            config.thinking_config = types.ThinkingConfig(include_thoughts=True, thinking_budget=sc.THINKING_BUDGET)
        return contents, config

    def call(self, model: str, s: sc.Scenario, is_stream: bool) -> Result:
        contents, config = self.request(s)
        if is_stream:
            chunks = list(self.client.models.generate_content_stream(model=model, contents=contents, config=config))
        else:
            chunks = [self.client.models.generate_content(model=model, contents=contents, config=config)]
        result = Result()
        for chunk in chunks:
            result.calls += [(call.id, call.name, call.args) for call in chunk.function_calls or []]
            content = chunk.candidates[0].content if chunk.candidates else None
            for part in (content.parts if content is not None else None) or []:
                if part.thought:  # thought parts: the reasoning, kept apart from the answer text
                    result.reasoning += part.text or ""
                elif part.function_call is None:
                    result.text += part.text or ""
        last = chunks[-1]
        result.stop = last.candidates[0].finish_reason.value if last.candidates[0].finish_reason else None
        usage = last.usage_metadata
        # Gemini's output = candidates + thoughts (the IR's output_tokens includes reasoning).
        result.usage = (usage.prompt_token_count,
                        (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0))
        return result

    def call_broken(self, model: str):
        contents, config = self.request(sc.SCENARIOS["text"])
        text = []
        try:
            for chunk in self.client.models.generate_content_stream(model=model, contents=contents, config=config):
                text.append(chunk.text or "")
        except Exception as e:  # noqa: BLE001
            return "".join(text), e
        return "".join(text), None


DRIVERS = {"anthropic": AnthropicDriver, "openai": OpenAIDriver, "openai_responses": ResponsesDriver,
           "gemini": GeminiDriver}
