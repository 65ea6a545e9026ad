"""The four API formats as the benchmark sends them: canned upstream replies and client requests.

FORMATS lists, per format id (Tresor's names), the model its downstream serves, the upstream path
nginx answers, the canned reply nginx returns there, and how a client of that format asks for a
model (path, JSON body, headers). `request(client, model)` builds one Case; a client of format A
asking for the model of format B is the translated pair A → B.
"""
import json

TEXT = "Hello! This is a canned benchmark reply from the stub."

REPLIES = {
    "openai": {
        "id": "chatcmpl-bench0001", "object": "chat.completion", "created": 1700000000, "model": "gpt-bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
        "system_fingerprint": "fp_bench",
    },
    "openai_responses": {
        "id": "resp_bench0001", "object": "response", "created_at": 1700000000, "status": "completed",
        "model": "resp-bench", "error": None, "incomplete_details": None,
        "output": [{"type": "message", "id": "msg_bench0001", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": TEXT, "annotations": []}]}],
        "usage": {"input_tokens": 12, "output_tokens": 14, "total_tokens": 26,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    },
    "anthropic": {
        "id": "msg_bench0001", "type": "message", "role": "assistant", "model": "claude-bench",
        "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 14},
    },
    "gemini": {
        "candidates": [{"content": {"role": "model", "parts": [{"text": TEXT}]}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 14, "totalTokenCount": 26},
        "modelVersion": "gemini-bench",
    },
}

# format id -> (model its downstream serves, short label, what a correct reply of this format contains)
FORMATS = {
    "openai": ("gpt-bench", "Chat", '"chat.completion"'),
    "openai_responses": ("resp-bench", "Responses", '"object":"response"'),
    "anthropic": ("claude-bench", "Messages", '"type":"message"'),
    "gemini": ("gemini-bench", "Gemini", '"candidates"'),
}
ORDER = tuple(FORMATS)
PROMPT = "Say hello."


class Case:
    """One kind of request: client format, path, JSON body, headers (and the model it asks for)."""

    def __init__(self, name, client, model, path, body, headers):
        self.name, self.client, self.model, self.path = name, client, model, path
        self.body = json.dumps(body, separators=(",", ":"))
        self.headers = dict({"Content-Type": "application/json"}, **headers)


def request(client, model, stream=False, name=None):
    """The Case a `client`-format SDK would send for `model` (a non-stream call unless `stream`)."""
    name = name or f"{client}->{model}"
    if client == "openai":
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}]}
        if stream:
            body["stream"] = True
        return Case(name, client, model, "/v1/chat/completions", body, {"Authorization": "Bearer bench"})
    if client == "openai_responses":
        body = {"model": model, "max_output_tokens": 64, "input": PROMPT}
        if stream:
            body["stream"] = True
        return Case(name, client, model, "/v1/responses", body, {"Authorization": "Bearer bench"})
    if client == "anthropic":
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}]}
        if stream:
            body["stream"] = True
        return Case(name, client, model, "/v1/messages", body,
                    {"x-api-key": "bench", "anthropic-version": "2023-06-01"})
    if client == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
                "generationConfig": {"maxOutputTokens": 64}}
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return Case(name, client, model, f"/v1beta/models/{model}:{action}", body, {"x-goog-api-key": "bench"})
    raise ValueError(f"unknown format {client}")


def upstream(fmt):
    """The Case that reaches nginx directly for downstream format `fmt` (the 'direct' baseline)."""
    return request(fmt, FORMATS[fmt][0], name=f"direct-{fmt}")


def pair_label(client, target):
    return f"{FORMATS[client][1]} → {FORMATS[target][1]}"


def looks_right(client, raw):
    """True when `raw` (response text) is a success reply in the `client` format."""
    return FORMATS[client][2] in raw.replace(" ", "")
