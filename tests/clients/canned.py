"""Canned native provider answers (JSON bodies and SSE chunks) used by the SDK tests."""
import json


def sse(event, data):
    return "event: %s\ndata: %s\n\n" % (event, json.dumps(data))


def data(obj):
    return "data: %s\n\n" % (obj if isinstance(obj, str) else json.dumps(obj))


OPENAI_TEXT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from upstream"},
                            "finish_reason": "stop", "logprobs": None}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}


def openai_chunk(delta, finish=None, usage=None):
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        chunk["choices"] = []
        chunk["usage"] = usage
    return data(chunk)


OPENAI_STREAM = [openai_chunk({"role": "assistant", "content": ""}), openai_chunk({"content": "Hello"}),
                 openai_chunk({"content": " world"}), openai_chunk({}, "stop"),
                 openai_chunk({}, usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}),
                 data("[DONE]")]
OPENAI_TOOL_STREAM = [
    openai_chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
    openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    openai_chunk({}, "tool_calls"), data("[DONE]")]

ANTHROPIC_TEXT = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
                  "content": [{"type": "text", "text": "Hello from upstream"}], "stop_reason": "end_turn",
                  "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 3}}


def anthropic_stream(blocks=None, stop_reason="end_turn"):
    events = [sse("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}})]
    for index, (start, deltas) in enumerate(blocks or [({"type": "text", "text": ""},
                                                        [{"type": "text_delta", "text": "Hello"},
                                                         {"type": "text_delta", "text": " world"}])]):
        events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": start}))
        for delta in deltas:
            events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": delta}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason,
                                        "stop_sequence": None}, "usage": {"output_tokens": 7}}))
    events.append(sse("message_stop", {"type": "message_stop"}))
    return events


ANTHROPIC_TOOL_STREAM = anthropic_stream([
    ({"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}},
     [{"type": "input_json_delta", "partial_json": '{"city": '},
      {"type": "input_json_delta", "partial_json": '"Paris"}'}])], "tool_use")

RESPONSES_TEXT = {
    "id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "resp-x",
    "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Hello from upstream", "annotations": []}]}],
    "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8,
              "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None, "incomplete_details": None,
    "instructions": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}}}


def responses_stream():
    created = dict(RESPONSES_TEXT, status="in_progress", output=[], usage=None)
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    done_item = RESPONSES_TEXT["output"][0]
    part = {"type": "output_text", "text": "", "annotations": []}
    seq = iter(range(100))
    ev = lambda name, **kw: sse(name, dict(type=name, sequence_number=next(seq), **kw))  # noqa: E731
    return [ev("response.created", response=created), ev("response.in_progress", response=created),
            ev("response.output_item.added", output_index=0, item=item),
            ev("response.content_part.added", item_id="msg_1", output_index=0, content_index=0, part=part),
            ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta="Hello",
               logprobs=[]),
            ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta=" world",
               logprobs=[]),
            ev("response.output_text.done", item_id="msg_1", output_index=0, content_index=0, text="Hello world",
               logprobs=[]),
            ev("response.content_part.done", item_id="msg_1", output_index=0, content_index=0,
               part=dict(part, text="Hello world")),
            ev("response.output_item.done", output_index=0, item=dict(done_item, content=[
                {"type": "output_text", "text": "Hello world", "annotations": []}])),
            ev("response.completed", response=dict(RESPONSES_TEXT, output=[dict(done_item, content=[
                {"type": "output_text", "text": "Hello world", "annotations": []}])]))]


GEMINI_TEXT = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello from upstream"}]},
                               "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8},
               "modelVersion": "gemini-x", "responseId": "r1"}


def gemini_chunk(parts, finish=None, usage=None):
    chunk = {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
             "modelVersion": "gemini-x", "responseId": "r1"}
    if finish:
        chunk["candidates"][0]["finishReason"] = finish
    if usage:
        chunk["usageMetadata"] = usage
    return "data: %s\r\n\r\n" % json.dumps(chunk)


GEMINI_STREAM = [gemini_chunk([{"text": "Hello"}]), gemini_chunk([{"text": " world"}]),
                 gemini_chunk([{"text": ""}], "STOP", {"promptTokenCount": 5, "candidatesTokenCount": 2,
                                                        "totalTokenCount": 7})]
GEMINI_TOOL_STREAM = [gemini_chunk([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}], "STOP",
                                   {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7})]
