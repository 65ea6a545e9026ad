"""Rich wire samples of each format for the loss report (loss_report.py): a request, an answer and a
stream that use every feature the format has, written the way the real APIs and SDKs send them.

The same facts appear in every format (one conversation: a system prompt, a user turn with two
images and two documents, an assistant turn with reasoning, text and two parallel tool calls, their
results — one an error —, a mid-conversation system message, a last user turn), so a field that
differs after translation differs because of the translation.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

from tresor.formats.sse import SSEEvent

SYSTEM_1 = "You are Tresor's test assistant."
SYSTEM_2 = "Answer in English."
MID_SYSTEM = "From now on answer in French."
USER_1 = "Look at these files, then check the weather."
USER_2 = "Merci. And tomorrow?"
IMAGE_URL = "https://example.com/cat.png"
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF_B64 = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK"
PDF_URL = "https://example.com/report.pdf"
THOUGHT = "Two images and two files; the user wants the weather."
SIGNATURE = "RXJVQkNrWUlCUmdDSWtCMFpYTjBMWE5w"
ASSISTANT_TEXT = "Let me check the weather and the time."
ARGS_1, ARGS_2 = {"city": "Paris"}, {"tz": "Europe/Paris"}
RESULT_1, RESULT_2 = "18C and sunny", "clock service unavailable"
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                  "required": ["city"], "additionalProperties": False}
TIME_SCHEMA = {"type": "object", "properties": {"tz": {"type": "string", "enum": ["Europe/Paris", "UTC"]}},
               "required": ["tz"]}
ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
STOPS = ["END", "STOP", "###", "---", "~~~", "==="]
# The answer every sample upstream gives.
ANSWER_THOUGHT = "The user asks about tomorrow; I will call both tools again."
ANSWER_TEXT = "Je vérifie."


def _args(value: Dict[str, Any]) -> str:
    return json.dumps(value)


# ---- requests (client side)

ANTHROPIC_REQUEST = {
    "model": "claude-sonnet-4-5", "max_tokens": 16000,
    "system": [{"type": "text", "text": SYSTEM_1, "cache_control": {"type": "ephemeral"}},
               {"type": "text", "text": SYSTEM_2}],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": USER_1, "cache_control": {"type": "ephemeral"}},
            {"type": "image", "source": {"type": "url", "url": IMAGE_URL}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
            {"type": "document", "title": "report.pdf",
             "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64}},
            {"type": "document", "source": {"type": "url", "url": PDF_URL}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": THOUGHT, "signature": SIGNATURE},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
            {"type": "text", "text": ASSISTANT_TEXT},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": ARGS_1},
            {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": ARGS_2}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": RESULT_1},
            {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": True,
             "content": [{"type": "text", "text": RESULT_2}]}]},
        {"role": "system", "content": [{"type": "text", "text": MID_SYSTEM}]},
        {"role": "user", "content": USER_2}],
    "tools": [
        {"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA,
         "cache_control": {"type": "ephemeral"}},
        {"name": "get_time", "description": "Current time", "input_schema": TIME_SCHEMA},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": False},
    "thinking": {"type": "enabled", "budget_tokens": 4096},
    "output_config": {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
    "stop_sequences": STOPS, "temperature": 0.7, "top_p": 0.9, "top_k": 40,
    "metadata": {"user_id": "user-42"},
}

OPENAI_REQUEST = {
    "model": "gpt-5",
    "messages": [
        {"role": "system", "content": SYSTEM_1},
        {"role": "developer", "content": SYSTEM_2},
        {"role": "user", "content": [
            {"type": "text", "text": USER_1},
            {"type": "image_url", "image_url": {"url": IMAGE_URL, "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG_B64}},
            {"type": "file", "file": {"filename": "report.pdf",
                                      "file_data": "data:application/pdf;base64," + PDF_B64}}]},
        {"role": "assistant", "content": ASSISTANT_TEXT, "reasoning_content": THOUGHT, "tool_calls": [
            {"id": "call_01", "type": "function", "function": {"name": "get_weather", "arguments": _args(ARGS_1)}},
            {"id": "call_02", "type": "function", "function": {"name": "get_time", "arguments": _args(ARGS_2)}}]},
        {"role": "tool", "tool_call_id": "call_01", "content": RESULT_1},
        {"role": "tool", "tool_call_id": "call_02", "content": RESULT_2},
        {"role": "developer", "content": MID_SYSTEM},
        {"role": "user", "content": USER_2}],
    "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                          "parameters": WEATHER_SCHEMA, "strict": True}},
        {"type": "function", "function": {"name": "get_time", "description": "Current time",
                                          "parameters": TIME_SCHEMA}},
        {"type": "custom", "custom": {"name": "grep", "description": "Search files"}}],
    "tool_choice": "required", "parallel_tool_calls": True,
    "max_completion_tokens": 16000, "temperature": 0.7, "top_p": 0.9, "seed": 7,
    "presence_penalty": 0.1, "frequency_penalty": 0.2, "stop": STOPS[:4], "reasoning_effort": "medium",
    "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA,
                                                               "strict": True}},
    "user": "user-42", "metadata": {"session": "s1"}, "store": True, "n": 1, "logprobs": False,
}

RESPONSES_REQUEST = {
    "model": "gpt-5", "instructions": SYSTEM_1,
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": SYSTEM_2}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": USER_1},
            {"type": "input_image", "image_url": IMAGE_URL, "detail": "high"},
            {"type": "input_image", "image_url": "data:image/png;base64," + PNG_B64, "detail": "auto"},
            {"type": "input_file", "filename": "report.pdf", "file_data": "data:application/pdf;base64," + PDF_B64},
            {"type": "input_file", "file_url": PDF_URL}]},
        {"type": "reasoning", "id": "rs_01", "summary": [{"type": "summary_text", "text": THOUGHT}],
         "encrypted_content": "gAAAAABoIPOHcRDQe7ADW0QPL0l7"},
        {"type": "message", "role": "assistant", "id": "msg_01", "status": "completed",
         "content": [{"type": "output_text", "text": ASSISTANT_TEXT, "annotations": []}]},
        {"type": "function_call", "id": "fc_01", "call_id": "call_01", "name": "get_weather",
         "arguments": _args(ARGS_1)},
        {"type": "function_call", "id": "fc_02", "call_id": "call_02", "name": "get_time", "arguments": _args(ARGS_2)},
        {"type": "function_call_output", "call_id": "call_01", "output": RESULT_1},
        {"type": "function_call_output", "call_id": "call_02", "output": RESULT_2},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": MID_SYSTEM}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": USER_2}]}],
    "tools": [
        {"type": "function", "name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA,
         "strict": True},
        {"type": "function", "name": "get_time", "description": "Current time", "parameters": TIME_SCHEMA,
         "strict": False},
        {"type": "web_search"},
        {"type": "namespace", "name": "multi_agent_v1", "tools": []}],
    "tool_choice": {"type": "function", "name": "get_weather"}, "parallel_tool_calls": True,
    "max_output_tokens": 16000, "temperature": 0.7, "top_p": 0.9,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "text": {"format": {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
             "verbosity": "low"},
    "metadata": {"session": "s1"}, "user": "user-42", "store": False,
    "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k1",
}

GEMINI_REQUEST = {
    "systemInstruction": {"parts": [{"text": SYSTEM_1}, {"text": SYSTEM_2}]},
    "contents": [
        {"role": "user", "parts": [
            {"text": USER_1},
            {"fileData": {"mimeType": "image/png", "fileUri": IMAGE_URL}},
            {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
            {"inlineData": {"mimeType": "application/pdf", "data": PDF_B64}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": PDF_URL}}]},
        {"role": "model", "parts": [
            {"text": THOUGHT, "thought": True},
            {"text": ASSISTANT_TEXT},
            {"functionCall": {"name": "get_weather", "args": ARGS_1}, "thoughtSignature": SIGNATURE},
            {"functionCall": {"name": "get_time", "args": ARGS_2}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"result": RESULT_1}}},
            {"functionResponse": {"name": "get_time", "response": {"error": RESULT_2}}}]},
        {"role": "user", "parts": [{"text": USER_2}]}],
    "tools": [{"functionDeclarations": [
        {"name": "get_weather", "description": "Current weather", "parametersJsonSchema": WEATHER_SCHEMA},
        {"name": "get_time", "description": "Current time", "parametersJsonSchema": TIME_SCHEMA}]},
        {"googleSearch": {}}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    "generationConfig": {
        "maxOutputTokens": 16000, "temperature": 0.7, "topP": 0.9, "topK": 40, "seed": 7,
        "presencePenalty": 0.1, "frequencyPenalty": 0.2, "stopSequences": STOPS[:5],
        "responseMimeType": "application/json", "responseJsonSchema": ANSWER_SCHEMA,
        "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": True}, "candidateCount": 1},
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    "cachedContent": "cachedContents/abc123",
}

REQUESTS = {"anthropic": ANTHROPIC_REQUEST, "openai": OPENAI_REQUEST, "openai_responses": RESPONSES_REQUEST,
            "gemini": GEMINI_REQUEST}

# ---- answers (downstream side): reasoning, text, two parallel calls, usage with cache + reasoning

ANTHROPIC_RESPONSE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": ANSWER_THOUGHT, "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "text", "text": ANSWER_TEXT, "citations": None},
        {"type": "tool_use", "id": "toolu_11", "name": "get_weather", "input": {"city": "Paris", "day": "tomorrow"}},
        {"type": "tool_use", "id": "toolu_12", "name": "get_time", "input": ARGS_2}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 100, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 30,
              "output_tokens": 50, "service_tier": "standard"},
}

OPENAI_RESPONSE = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion", "created": 1741569952,
    "model": "gpt-5-2025-08-07", "system_fingerprint": "fp_abc",
    "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": ANSWER_TEXT, "reasoning_content": ANSWER_THOUGHT, "refusal": None,
        "tool_calls": [
            {"id": "call_11", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris","day":"tomorrow"}'}},
            {"id": "call_12", "type": "function", "function": {"name": "get_time", "arguments": _args(ARGS_2)}}]}}],
    "usage": {"prompt_tokens": 150, "completion_tokens": 50, "total_tokens": 200,
              "prompt_tokens_details": {"cached_tokens": 30}, "completion_tokens_details": {"reasoning_tokens": 12}},
}

RESPONSES_RESPONSE = {
    "id": "resp_11", "object": "response", "created_at": 1746989954, "status": "completed", "model": "gpt-5",
    "output": [
        {"id": "rs_11", "type": "reasoning", "encrypted_content": "gAAAAABoIPOHcRDQ",
         "summary": [{"type": "summary_text", "text": ANSWER_THOUGHT}]},
        {"id": "msg_11", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": ANSWER_TEXT, "annotations": [], "logprobs": []}]},
        {"id": "fc_11", "type": "function_call", "status": "completed", "call_id": "call_11", "name": "get_weather",
         "arguments": '{"city":"Paris","day":"tomorrow"}'},
        {"id": "fc_12", "type": "function_call", "status": "completed", "call_id": "call_12", "name": "get_time",
         "arguments": _args(ARGS_2)}],
    "usage": {"input_tokens": 150, "input_tokens_details": {"cached_tokens": 30}, "output_tokens": 50,
              "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 200},
    "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None, "incomplete_details": None,
    "service_tier": "default", "store": False, "text": {"format": {"type": "text"}},
}

GEMINI_RESPONSE = {
    "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"text": ANSWER_THOUGHT, "thought": True},
        {"text": ANSWER_TEXT},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "day": "tomorrow"}},
         "thoughtSignature": SIGNATURE},
        {"functionCall": {"name": "get_time", "args": ARGS_2}}]},
        "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]}],
    "usageMetadata": {"promptTokenCount": 150, "cachedContentTokenCount": 30, "candidatesTokenCount": 38,
                      "thoughtsTokenCount": 12, "totalTokenCount": 200},
    "modelVersion": "gemini-2.5-pro", "responseId": "Xq1aaN2hL5",
}

RESPONSES = {"anthropic": ANTHROPIC_RESPONSE, "openai": OPENAI_RESPONSE, "openai_responses": RESPONSES_RESPONSE,
             "gemini": GEMINI_RESPONSE}


# ---- streams (downstream side): the same answers, streamed as each API streams them


def _sse(payload: Dict[str, Any], named: bool = True) -> SSEEvent:
    return SSEEvent(json.dumps(payload), payload["type"] if named else None)


def anthropic_stream() -> List[SSEEvent]:
    message = dict(ANTHROPIC_RESPONSE, content=[], stop_reason=None,
                   usage={"input_tokens": 100, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 30,
                          "output_tokens": 1})
    out = [_sse({"type": "message_start", "message": message})]
    blocks = [({"type": "thinking", "thinking": "", "signature": ""},
               [{"type": "thinking_delta", "thinking": ANSWER_THOUGHT[:20]},
                {"type": "thinking_delta", "thinking": ANSWER_THOUGHT[20:]},
                {"type": "signature_delta", "signature": SIGNATURE}]),
              ({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}, []),
              ({"type": "text", "text": ""}, [{"type": "text_delta", "text": ANSWER_TEXT}]),
              ({"type": "tool_use", "id": "toolu_11", "name": "get_weather", "input": {}},
               [{"type": "input_json_delta", "partial_json": '{"city": "Paris", '},
                {"type": "input_json_delta", "partial_json": '"day": "tomorrow"}'}]),
              ({"type": "tool_use", "id": "toolu_12", "name": "get_time", "input": {}},
               [{"type": "input_json_delta", "partial_json": _args(ARGS_2)}])]
    for index, (block, deltas) in enumerate(blocks):
        out.append(_sse({"type": "content_block_start", "index": index, "content_block": block}))
        out += [_sse({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
        out.append(_sse({"type": "content_block_stop", "index": index}))
    out.append(_sse({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                     "usage": {"output_tokens": 50}}))
    return out + [_sse({"type": "message_stop"})]


def openai_stream() -> List[SSEEvent]:
    def chunk(delta, finish=None):
        return SSEEvent(json.dumps({"id": "chatcmpl-B9", "object": "chat.completion.chunk", "created": 1741569952,
                                    "model": "gpt-5-2025-08-07", "system_fingerprint": "fp_abc",
                                    "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                 "finish_reason": finish}]}))

    def call(index, **fields):
        return {"tool_calls": [dict(index=index, **fields)]}

    usage = dict(OPENAI_RESPONSE["usage"])
    return [chunk({"role": "assistant", "content": "", "refusal": None}),
            chunk({"reasoning_content": ANSWER_THOUGHT}), chunk({"content": ANSWER_TEXT}),
            chunk(call(0, id="call_11", type="function", function={"name": "get_weather", "arguments": ""})),
            chunk(call(0, function={"arguments": '{"city":"Paris",'})),
            chunk(call(0, function={"arguments": '"day":"tomorrow"}'})),
            chunk(call(1, id="call_12", type="function", function={"name": "get_time", "arguments": ""})),
            chunk(call(1, function={"arguments": _args(ARGS_2)})),
            chunk({}, "tool_calls"),
            SSEEvent(json.dumps({"id": "chatcmpl-B9", "object": "chat.completion.chunk", "created": 1741569952,
                                 "model": "gpt-5-2025-08-07", "choices": [], "usage": usage})),
            SSEEvent("[DONE]")]


def responses_stream() -> List[SSEEvent]:
    seq = iter(range(1000))
    base = {k: v for k, v in RESPONSES_RESPONSE.items() if k not in ("output", "usage")}

    def ev(kind, **fields):
        return _sse(dict(type=kind, sequence_number=next(seq), **fields))

    out = [ev("response.created", response=dict(base, status="in_progress", output=[], usage=None)),
           ev("response.in_progress", response=dict(base, status="in_progress", output=[], usage=None))]
    for index, item in enumerate(RESPONSES_RESPONSE["output"]):
        kind, item_id = item["type"], item["id"]
        added = {"reasoning": {"id": item_id, "type": "reasoning", "summary": []},
                 "message": dict(item, status="in_progress", content=[]),
                 "function_call": dict(item, status="in_progress", arguments="")}[kind]
        out.append(ev("response.output_item.added", output_index=index, item=added))
        ids = dict(item_id=item_id, output_index=index)
        if kind == "reasoning":
            text = item["summary"][0]["text"]
            part = {"type": "summary_text", "text": ""}
            out += [ev("response.reasoning_summary_part.added", summary_index=0, part=part, **ids),
                    ev("response.reasoning_summary_text.delta", summary_index=0, delta=text, **ids),
                    ev("response.reasoning_summary_text.done", summary_index=0, text=text, **ids),
                    ev("response.reasoning_summary_part.done", summary_index=0, part=dict(part, text=text), **ids)]
        elif kind == "message":
            text, part = item["content"][0]["text"], {"type": "output_text", "text": "", "annotations": []}
            out += [ev("response.content_part.added", content_index=0, part=part, **ids),
                    ev("response.output_text.delta", content_index=0, delta=text, logprobs=[], **ids),
                    ev("response.output_text.done", content_index=0, text=text, logprobs=[], **ids),
                    ev("response.content_part.done", content_index=0, part=dict(part, text=text), **ids)]
        else:
            out += [ev("response.function_call_arguments.delta", delta=item["arguments"], **ids),
                    ev("response.function_call_arguments.done", arguments=item["arguments"], **ids)]
        out.append(ev("response.output_item.done", output_index=index, item=item))
    return out + [ev("response.completed", response=RESPONSES_RESPONSE)]


def gemini_stream() -> List[SSEEvent]:
    def chunk(parts, finish=None, usage=None):
        candidate: Dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        body: Dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-pro", "responseId": "Xq1aaN2hL5"}
        if usage:
            body["usageMetadata"] = usage
        return SSEEvent(json.dumps(body))

    parts = GEMINI_RESPONSE["candidates"][0]["content"]["parts"]
    return [chunk([parts[0]], usage={"promptTokenCount": 150, "totalTokenCount": 150}),
            chunk([parts[1]]), chunk(parts[2:], "STOP", GEMINI_RESPONSE["usageMetadata"])]


STREAMS = {"anthropic": anthropic_stream, "openai": openai_stream, "openai_responses": responses_stream,
           "gemini": gemini_stream}
