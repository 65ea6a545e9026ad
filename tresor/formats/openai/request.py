"""OpenAI Chat Completions request body <-> ir.Request (top-level fields, messages, tools).

Unknown top-level keys and explicit nulls go to extras["openai"]["unknown"] and are re-emitted;
raw values of lossy fields (stop, tool_choice, response_format, stream) are kept and reused
when they still mean what the IR says ("shadows"), so a same-family round trip is exact.
"""
from __future__ import annotations

from typing import Any, Dict

from tresor.errors import ClientError
from tresor.formats import ir
from tresor.formats.openai.conversation import parse_messages, render_messages
from tresor.formats.openai.messages import FMT, drop, ext

_MISSING = object()
_TOOL_MODES = ("auto", "none", "required")
_EFFORT_ALIASES = {"max": "high"}  # Anthropic's top effort level; OpenAI Chat has no "max"
_MAX_STOP = 4  # OpenAI rejects more than four stop sequences
_MAX_USER = 64  # OpenAI rejects a longer `user` (Claude Code's metadata.user_id is a JSON blob)


def _is_num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- parse -----------------------------------------------------------------------------------

def _parse_tools(req: ir.Request, tools: list, ex: dict) -> None:
    opaque = []
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or tool.get("type") != "function" or not isinstance(fn.get("name"), str):
            opaque.append(i)  # custom / other tool types: OpenAI-only, dropped across families
            continue
        desc = fn.get("description") if isinstance(fn.get("description"), str) else None
        params = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else None
        req.tools.append(ir.ToolSpec(fn["name"], desc, params, extras={FMT: {"raw": tool}}))
    ex["tools"], ex["opaque_tools"] = tools, opaque


def _parse_tool_choice(value):
    if isinstance(value, str):
        return ir.ToolChoice(value) if value in _TOOL_MODES else None
    fn = value.get("function") if isinstance(value, dict) else None
    if isinstance(fn, dict) and value.get("type") == "function":
        return ir.ToolChoice("tool", fn.get("name") if isinstance(fn.get("name"), str) else None)
    return None  # allowed_tools / custom: kept raw, same family only


def _parse_response_format(value):
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return ir.ResponseFormat(kind)
    spec = value.get("json_schema")
    if kind != "json_schema" or not isinstance(spec, dict):
        return None
    return ir.ResponseFormat(
        "json_schema",
        schema=spec.get("schema") if isinstance(spec.get("schema"), dict) else None,
        name=spec.get("name") if isinstance(spec.get("name"), str) else None,
        is_strict=spec.get("strict") if isinstance(spec.get("strict"), bool) else None)


def _parse_stop(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return list(value)
    return None


def _set(attr, check):
    """A handler storing `value` on the request when `check(value)` holds."""
    def handler(req, value, ex, body):
        if not check(value):
            return False
        setattr(req, attr, value)
        return True
    return handler


def _h_messages(req, value, ex, body):
    if not isinstance(value, list):
        raise ClientError("messages must be an array")
    parse_messages(req, value, ex)
    return True


def _h_tools(req, value, ex, body):
    if not isinstance(value, list) or not value:
        return False
    _parse_tools(req, value, ex)
    return True


def _h_shadow(attr, parse):
    """A handler storing parse(value) (None when the IR cannot say it) and the raw shadow."""
    def handler(req, value, ex, body):
        setattr(req, attr, parse(value))
        ex[attr] = value
        return True
    return handler


def _h_stop(req, value, ex, body):
    stop = _parse_stop(value)
    if stop is None:
        return False
    req.stop, ex["stop"] = stop, value
    return True


def _h_max_tokens(req, value, ex, body):
    if not _is_int(value) or _is_int(body.get("max_completion_tokens")):
        return False  # max_completion_tokens wins when both are sent
    req.max_tokens = value
    return True


def _h_max_completion_tokens(req, value, ex, body):
    if not _is_int(value):
        return False
    req.max_tokens, ex["max_tokens_key"] = value, "max_completion_tokens"
    return True


def _h_effort(req, value, ex, body):
    if not isinstance(value, str):
        return False
    req.reasoning = ir.ReasoningConfig(is_enabled=value != "none", effort=value)
    return True


def _h_stream(req, value, ex, body):
    if not isinstance(value, bool):
        return False
    req.is_stream, ex["stream"] = value, value
    return True


def _h_stream_options(req, value, ex, body):
    if not isinstance(value, dict):
        return False
    req.is_usage_in_stream, ex["stream_options"] = bool(value.get("include_usage")), value
    return True


_HANDLERS = {
    "model": _set("model", lambda v: isinstance(v, str)),
    "messages": _h_messages,
    "tools": _h_tools,
    "tool_choice": _h_shadow("tool_choice", _parse_tool_choice),
    "parallel_tool_calls": _set("is_parallel_tool_calls", lambda v: isinstance(v, bool)),
    "max_tokens": _h_max_tokens,
    "max_completion_tokens": _h_max_completion_tokens,
    "temperature": _set("temperature", _is_num),
    "top_p": _set("top_p", _is_num),
    "top_k": _set("top_k", _is_int),  # vLLM / llama.cpp extension
    "stop": _h_stop,
    "seed": _set("seed", _is_int),
    "presence_penalty": _set("presence_penalty", _is_num),
    "frequency_penalty": _set("frequency_penalty", _is_num),
    "reasoning_effort": _h_effort,
    "response_format": _h_shadow("response_format", _parse_response_format),
    "user": _set("user", lambda v: isinstance(v, str)),
    "metadata": _set("metadata", lambda v: isinstance(v, dict)),
    "stream": _h_stream,
    "stream_options": _h_stream_options,
}


def parse_request(body, *, model: str = "", is_stream=None) -> ir.Request:
    """Parse a Chat Completions request body (not mutated) into an ir.Request.

    `model` is used when the body has none; `is_stream`, when given, overrides the body's
    `stream`. Raises ClientError(400) when `messages` is not an array of objects.
    """
    if not isinstance(body, dict):
        raise ClientError("request body must be a JSON object")
    req = ir.Request(model=model)
    ex: Dict[str, Any] = {"keys": list(body)}
    unknown = {}
    for key, value in body.items():
        handler = _HANDLERS.get(key)
        if value is None or handler is None or not handler(req, value, ex, body):
            unknown[key] = value  # n, logprobs, logit_bias, store, modalities, nulls ...
    if unknown:
        ex["unknown"] = unknown
    if is_stream is not None:
        req.is_stream = bool(is_stream)
    req.extras[FMT] = ex
    return req


# ---- render ----------------------------------------------------------------------------------

def _render_tool(tool: ir.ToolSpec) -> dict:
    raw = ext(tool).get("raw")
    out = dict(raw) if raw is not None else {"type": "function"}
    fn = dict(raw.get("function") or {}) if raw is not None else {}
    fn["name"] = tool.name
    for key, value in (("description", tool.description), ("parameters", tool.parameters)):
        if value is not None:
            fn[key] = value
        elif raw is None and key == "parameters":
            fn[key] = {"type": "object", "properties": {}}  # several servers require a schema
        else:
            fn.pop(key, None)
    out["function"] = fn
    return out


def _render_tools(request: ir.Request, ex: dict) -> list:
    out = [_render_tool(t) for t in request.tools]
    raw = ex.get("tools") or []
    for pos in ex.get("opaque_tools", ()):
        if pos < len(raw):
            out.insert(pos, raw[pos])
    return out


def _shadow(ex: dict, key: str, parse, current):
    """The raw value of `key` when it still parses to `current`, else _MISSING."""
    raw = ex.get(key, _MISSING)
    if raw is not _MISSING and parse(raw) == current:
        return raw
    return _MISSING


def _render_tool_choice(request, ex, has_tools):
    raw = _shadow(ex, "tool_choice", _parse_tool_choice, request.tool_choice)
    choice = request.tool_choice
    if raw is not _MISSING or choice is None:
        return raw
    if not has_tools:  # OpenAI: "tool_choice is only allowed when tools are specified"
        drop(request, "tool_choice without tools")
        return _MISSING
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name or ""}}
    return choice.mode if choice.mode in _TOOL_MODES else "auto"


def _render_effort(request, ex):
    config = request.reasoning
    if config is None:
        return _MISSING
    if config.effort:
        return config.effort if ex else _EFFORT_ALIASES.get(config.effort, config.effort)
    if config.is_enabled is False or not config.budget_tokens:
        return _MISSING  # "off" and "adaptive" both mean: let the server default apply
    return ir.effort_for_budget(config.budget_tokens)


def _render_response_format(request, ex):
    fmt = request.response_format
    raw = _shadow(ex, "response_format", _parse_response_format, fmt)
    if raw is not _MISSING or fmt is None:
        return raw
    if fmt.kind != "json_schema":
        return {"type": fmt.kind if fmt.kind == "json_object" else "text"}
    spec = {"name": fmt.name or "response", "schema": fmt.schema or {"type": "object"}}
    if fmt.is_strict is not None:
        spec["strict"] = fmt.is_strict
    return {"type": "json_schema", "json_schema": spec}


def _render_stop(request, ex):
    raw = _shadow(ex, "stop", _parse_stop, request.stop)
    if raw is not _MISSING or not request.stop:
        return raw
    if len(request.stop) > _MAX_STOP:
        drop(request, "stop sequences beyond the first %d" % _MAX_STOP)
    return list(request.stop[:_MAX_STOP])


def _render_stream(request, ex, out) -> None:
    raw = ex.get("stream", _MISSING)
    if raw is not _MISSING and raw == request.is_stream:
        out["stream"] = raw
    elif request.is_stream:
        out["stream"] = True
    options = ex.get("stream_options", _MISSING)
    if options is not _MISSING and bool(options.get("include_usage")) == request.is_usage_in_stream:
        out["stream_options"] = options
    elif request.is_stream and (request.is_usage_in_stream or not ex):
        # Another family's client always needs usage (Claude Code compaction): ask for it.
        out["stream_options"] = {"include_usage": True}


def _render_sampling(request, ex, out) -> None:
    if request.max_tokens is not None:
        out[ex.get("max_tokens_key", "max_tokens")] = request.max_tokens
    for key in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"):
        if getattr(request, key) is not None:
            out[key] = getattr(request, key)
    if request.top_k is not None:
        if ex:
            out["top_k"] = request.top_k
        else:
            drop(request, "top_k (OpenAI rejects it)")
    for key, value in (("stop", _render_stop(request, ex)),
                       ("reasoning_effort", _render_effort(request, ex)),
                       ("response_format", _render_response_format(request, ex))):
        if value is not _MISSING:
            out[key] = value


def _render_tooling(request, ex, out) -> None:
    tools = _render_tools(request, ex)
    if tools:
        out["tools"] = tools
    choice = _render_tool_choice(request, ex, bool(tools))
    if choice is not _MISSING:
        out["tool_choice"] = choice
    if request.is_parallel_tool_calls is not None:
        if tools or ex:
            out["parallel_tool_calls"] = request.is_parallel_tool_calls
        else:
            drop(request, "parallel_tool_calls without tools")


def render_request(request: ir.Request) -> dict:
    """The Chat Completions body for `request` (reads only extras["openai"]; records drops).

    Cross-family defaults favour OpenAI-compatible servers: `max_tokens` (what vLLM,
    llama.cpp and DeepSeek read), string content for text-only turns, stream usage requested.
    """
    ex = ext(request)
    out: Dict[str, Any] = {}
    if request.model:
        out["model"] = request.model
    out["messages"] = render_messages(request, ex)
    _render_tooling(request, ex, out)
    _render_sampling(request, ex, out)
    if request.user is not None:
        if ex or len(request.user) <= _MAX_USER:
            out["user"] = request.user
        else:
            drop(request, "user longer than %d characters" % _MAX_USER)
    if request.metadata:
        if ex:
            out["metadata"] = request.metadata
        else:  # OpenAI: "The 'metadata' parameter is only allowed when 'store' is enabled."
            drop(request, "metadata")
    _render_stream(request, ex, out)
    out.update(ex.get("unknown") or {})
    order = ex.get("keys") or []
    ordered = {k: out[k] for k in order if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in ordered)
    return ordered
