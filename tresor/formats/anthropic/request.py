"""Anthropic Messages requests (POST /v1/messages) <-> ir.Request.

Same-family round trips are exact (`render_request(parse_request(x)) == x`); requests from other
formats are shaped for what api.anthropic.com accepts (required max_tokens, thinking rules, role
alternation, tool_result placement). Contract: tresor/formats/__init__.py and ir.py.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from tresor.errors import ClientError
from tresor.formats import ir

from .blocks import ID, own, parse_block, parse_blocks, render_part

_KNOWN = ("model", "max_tokens", "system", "messages", "tools", "tool_choice", "thinking", "output_config",
          "output_format", "stop_sequences", "temperature", "top_p", "top_k", "metadata", "stream")
# Keys whose empty value ("" / [] / {} / false) the IR cannot tell from absence: kept verbatim.
_EMPTY_KEPT = ("system", "messages", "tools", "stop_sequences", "metadata", "stream")
_CHOICE_FROM = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
_CHOICE_TO = {"auto": "auto", "required": "any", "tool": "tool", "none": "none"}
# output_config.effort accepts low/medium/high/max; the IR vocabulary is minimal/low/medium/high.
_EFFORT_FROM = {"max": "high", "xhigh": "high"}
_EFFORT_TO = {"minimal": "low"}
# Thinking budget when a client gave only an effort (SPEC §3 / brief: low 2048, medium 8192, high 24576).
_BUDGET_FOR_EFFORT = ir.EFFORT_BUDGETS
# thinking.display: "omitted" returns signatures only (the default on Opus 4.7+), "summarized" the text.
_DISPLAY_FROM = {"summarized": True, "omitted": False}
_MIN_BUDGET = 1024  # the API rejects budget_tokens below 1024
_THINKING_MAX_TOKENS = 32000  # SPEC §3: default max_tokens when thinking is on and none was asked
# Default max_tokens by model (first match wins); the API requires the field.
_MAX_TOKENS = ((re.compile(r"opus-[4-9]"), 32000), (re.compile(r"sonnet-[4-9]|3-7-sonnet"), 64000),
               (re.compile(r"haiku-[4-9]"), 64000), (re.compile(r"3-5"), 8192))
_DEFAULT_MAX_TOKENS = 8192
_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?:-|$)")
# Prefix for a mid-conversation system message from another format folded into a user turn
# (the public API rejects role "system" inside messages without a beta; keeping it as tagged user
# text preserves the instruction and its position).
SYSTEM_FOLD = "<system>\n%s\n</system>"


def request_path(model: str, is_stream: bool) -> Tuple[str, str]:
    """Where the Messages endpoint lives (streaming is a body flag, not a path)."""
    return "/v1/messages", ""


# ---- wire -> IR


def parse_request(body: Any, *, model: str = "", is_stream: Optional[bool] = None) -> ir.Request:
    """A Messages request body -> ir.Request; raises ClientError(400) when it is not a JSON object."""
    if not isinstance(body, dict):
        raise ClientError("anthropic request body must be a JSON object", 400)
    ax: Dict[str, Any] = {}
    req = ir.Request(model=str(body.get("model") or model), max_tokens=body.get("max_tokens"),
                     temperature=body.get("temperature"), top_p=body.get("top_p"), top_k=body.get("top_k"))
    req.system = _parse_system(body.get("system"), ax)
    req.messages = _parse_messages(body.get("messages"))
    req.tools = _parse_tools(body.get("tools"), ax)
    _parse_tool_choice(body.get("tool_choice"), req, ax)
    _parse_reasoning(body, req, ax)
    _parse_metadata(body.get("metadata"), req, ax)
    stop = body.get("stop_sequences")
    req.stop = [s for s in stop if isinstance(s, str)] if isinstance(stop, list) else []
    req.is_stream = bool(body.get("stream")) if is_stream is None else is_stream
    empty = {k: body[k] for k in _EMPTY_KEPT if k in body and not body[k]}
    if empty:
        ax["_empty"] = empty
    unknown = {k: v for k, v in body.items() if k not in _KNOWN}
    if unknown:
        ax["unknown"] = unknown
    req.extras[ID] = ax
    return req


def _parse_system(system, ax) -> List[ir.Part]:
    if isinstance(system, str):
        return [ir.Text(system)] if system else []
    if not isinstance(system, list):
        return []
    ax["system_is_string"] = False  # keep a one-block array an array
    return [parse_block(b) for b in system]


def _parse_messages(raw) -> List[ir.Message]:
    messages, names = [], {}
    for m in raw if isinstance(raw, list) else []:
        if not isinstance(m, dict):
            continue
        kept = {k: v for k, v in m.items() if k not in ("role", "content")}  # e.g. output_config
        role = m.get("role")
        if role not in ("user", "assistant", "system"):
            kept["_role"], role = role, "user"
        if isinstance(m.get("content"), str):
            kept["_string"] = True
        parts = parse_blocks(m.get("content"))
        for p in parts:
            if isinstance(p, ir.ToolCall):
                names[p.id] = p.name
            elif isinstance(p, ir.ToolResult):
                p.name = names.get(p.call_id)
        if role == "user" and parts and all(isinstance(p, ir.ToolResult) for p in parts):
            role = "tool"
        messages.append(ir.Message(role, parts, {ID: kept}))
    return messages


def _parse_tools(raw, ax) -> List[ir.ToolSpec]:
    tools, server = [], []
    for i, t in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(t, dict) or t.get("type") not in (None, "custom") or "name" not in t:
            server.append([i, t])  # web_search_*, bash_*, text_editor_*, code_execution_*, mcp toolsets
            continue
        kept = {k: v for k, v in t.items() if k not in ("name", "description", "input_schema")}
        tools.append(ir.ToolSpec(t["name"], t.get("description"), t.get("input_schema"), {ID: kept} if kept else {}))
    if server:
        ax["server_tools"] = server
    return tools


def _parse_tool_choice(choice, req, ax) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice.get("type") if isinstance(choice.get("type"), str) else None
    req.tool_choice = ir.ToolChoice(_CHOICE_FROM.get(kind, "auto"), choice.get("name"))
    if "disable_parallel_tool_use" in choice:
        req.is_parallel_tool_calls = not choice["disable_parallel_tool_use"]
    kept = {k: v for k, v in choice.items() if k not in ("type", "name", "disable_parallel_tool_use")}
    if kind not in _CHOICE_FROM:
        kept["_type"] = choice.get("type")
    if kept:
        ax["tool_choice"] = kept


def _parse_reasoning(body, req, ax) -> None:
    thinking, config = body.get("thinking"), body.get("output_config")
    fmt = body.get("output_format")
    if isinstance(config, dict) and isinstance(config.get("format"), dict):
        fmt = config["format"]
    elif isinstance(fmt, dict):
        ax["_legacy_format"] = True  # the structured-outputs beta spelling, top-level output_format
    if isinstance(fmt, dict):
        req.response_format = ir.ResponseFormat(fmt.get("type") or "json_schema", fmt.get("schema"))
        if set(fmt) - {"type", "schema"}:
            ax["format"] = {k: v for k, v in fmt.items() if k not in ("type", "schema")}
    if not isinstance(thinking, dict) and not isinstance(config, dict):
        return
    rc = req.reasoning = ir.ReasoningConfig()
    if isinstance(thinking, dict):
        kind = thinking.get("type")
        rc.is_enabled = {"enabled": True, "adaptive": True, "disabled": False}.get(kind)
        rc.budget_tokens = thinking.get("budget_tokens")
        rc.include_summary = _DISPLAY_FROM.get(thinking.get("display"))
        ax["thinking"] = {k: v for k, v in thinking.items() if k != "budget_tokens"}  # type, display
    if isinstance(config, dict):
        effort = config.get("effort")
        if effort is not None:
            rc.effort = _EFFORT_FROM.get(effort, effort)
            if rc.effort != effort:
                ax["effort"] = effort
        ax["output_config"] = {k: v for k, v in config.items() if k not in ("effort", "format")}


def _parse_metadata(metadata, req, ax) -> None:
    if not isinstance(metadata, dict):
        return
    if metadata.get("user_id") is not None:
        req.user = str(metadata["user_id"])
    rest = {k: v for k, v in metadata.items() if k != "user_id"}
    if rest:
        ax["metadata"] = rest


# ---- IR -> wire


def render_request(request: ir.Request) -> Dict[str, Any]:
    """ir.Request -> a Messages body the API accepts. Mutates only request.extras["_dropped"]."""
    ax = request.extras.get(ID)
    is_native = ax is not None
    ax = ax or {}
    dropped: List[str] = []
    out: Dict[str, Any] = {"model": request.model}
    system = _render_system(request.system, ax, dropped)
    if system:
        out["system"] = system
    out["messages"] = _render_messages(request.messages, dropped)
    _render_tools(request, out, ax, is_native)
    budget = _render_reasoning(request, out, ax, is_native, dropped)
    out["max_tokens"] = _max_tokens(request, budget, "thinking" in out and out["thinking"]["type"] != "disabled")
    _render_sampling(request, out, is_native, dropped)
    if request.user is not None or "metadata" in ax:
        out["metadata"] = dict(ax.get("metadata") or {})
        if request.user is not None:
            out["metadata"]["user_id"] = request.user
    if request.is_stream:
        out["stream"] = True
    for key, value in list(ax.get("_empty", {}).items()) + list(ax.get("unknown", {}).items()):
        out.setdefault(key, value)
    if dropped:
        request.extras.setdefault("_dropped", []).extend(dropped)
    return out


def _render_system(parts, ax, dropped):
    texts = [p for p in parts if isinstance(p, ir.Text)]
    if len(texts) < len(parts):
        dropped.append("non-text system content")
    is_plain_one = len(texts) == 1 and not own(texts[0].extras)
    if is_plain_one and ax.get("system_is_string", True):
        return texts[0].text
    return [b for b in (render_part(p, dropped, True) for p in texts) if b]


def _render_messages(messages, dropped) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    is_native: List[bool] = []
    for m in messages:
        wire = _render_message(m, dropped)
        if wire is None:
            continue
        native = ID in m.extras
        if out and not native and not is_native[-1] and out[-1]["role"] == wire["role"]:
            # Anthropic requires alternating roles; e.g. OpenAI's consecutive `tool` messages
            # become one user turn with several tool_result blocks.
            out[-1]["content"] = _blocks(out[-1]["content"]) + _blocks(wire["content"])
            continue
        out.append(wire)
        is_native.append(native)
    for wire, native in zip(out, is_native):
        if not native:
            _normalise_order(wire)
    return out


def _render_message(m: ir.Message, dropped) -> Optional[Dict[str, Any]]:
    mine = m.extras.get(ID)
    role = {"tool": "user", "system": "system" if mine is not None else "user"}.get(m.role, m.role)
    if mine and "_role" in mine:
        role = mine["_role"]
    parts = m.parts
    if m.role == "system" and mine is None:
        text = "\n".join(p.text for p in parts if isinstance(p, (ir.Text, ir.Refusal)) and p.text)
        parts = [ir.Text(SYSTEM_FOLD % text)] if text else []
    blocks = [b for b in (render_part(p, dropped, True) for p in parts) if b is not None]
    if mine is None and not blocks:
        dropped.append("empty %s message" % m.role)
        return None
    wire: Dict[str, Any] = {"role": role, "content": blocks}
    if mine is not None and mine.get("_string") and len(parts) == 1 and isinstance(parts[0], ir.Text) \
            and not parts[0].extras:
        wire["content"] = parts[0].text
    for key, value in (mine or {}).items():
        if not key.startswith("_"):
            wire.setdefault(key, value)
    return wire


def _blocks(content) -> List[Dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _normalise_order(wire) -> None:
    """Order blocks of a message built from another format the way the API insists on."""
    content = wire["content"]
    if wire["role"] == "user":  # tool_result blocks must come first in their user message
        content.sort(key=lambda b: b.get("type") != "tool_result")
    else:  # thinking first, tool_use last (Codex interleaves interim text; Go commit 72912c9)
        content.sort(key=lambda b: {"thinking": 0, "redacted_thinking": 0, "tool_use": 2}.get(b.get("type"), 1))
    if len(content) == 1 and set(content[0]) == {"type", "text"}:
        wire["content"] = content[0]["text"]


def _render_tools(request, out, ax, is_native) -> None:
    tools = []
    for t in request.tools:
        wire: Dict[str, Any] = {"name": t.name}
        if t.description is not None:
            wire["description"] = t.description
        wire["input_schema"] = t.parameters if t.parameters is not None else {"type": "object", "properties": {}}
        for key, value in own(t.extras).items():
            wire.setdefault(key, value)
        tools.append(wire)
    for index, raw in ax.get("server_tools", []):
        tools.insert(index, raw)
    if tools:
        out["tools"] = tools
    choice, parallel = request.tool_choice, request.is_parallel_tool_calls
    if (choice is None and parallel is not False) or (not tools and not is_native):
        return  # the API rejects tool_choice without tools
    mode = choice.mode if choice else "auto"
    wire_choice: Dict[str, Any] = {"type": _CHOICE_TO.get(mode, "auto")}
    if mode == "tool" and choice.name:
        wire_choice["name"] = choice.name
    elif mode == "tool":
        wire_choice["type"] = "any"
    if parallel is False or (parallel is not None and is_native):
        wire_choice["disable_parallel_tool_use"] = not parallel
    kept = ax.get("tool_choice", {})
    if "_type" in kept and mode == "auto":
        wire_choice["type"] = kept["_type"]
    for key, value in kept.items():
        if not key.startswith("_"):
            wire_choice.setdefault(key, value)
    out["tool_choice"] = wire_choice


def _render_reasoning(request, out, ax, is_native, dropped) -> Optional[int]:
    """`thinking`, `output_config` (effort, format) and legacy `output_format`; returns the budget sent."""
    config = dict(ax.get("output_config") or {})
    fmt = request.response_format
    if fmt is not None and fmt.kind == "json_schema" and fmt.schema is not None:
        wire_fmt = {"type": "json_schema", "schema": fmt.schema}
        for key, value in ax.get("format", {}).items():
            wire_fmt.setdefault(key, value)
        if ax.get("_legacy_format"):
            out["output_format"] = wire_fmt
        else:
            config["format"] = wire_fmt
    elif fmt is not None and fmt.kind != "text":
        dropped.append("response_format %s (Anthropic takes a JSON schema only)" % fmt.kind)
    thinking, effort = _thinking(request.reasoning or ir.ReasoningConfig(), request.model, ax, is_native)
    if thinking is not None:
        out["thinking"] = thinking
    if effort is not None:
        config["effort"] = effort
    if config or "output_config" in ax:
        out["output_config"] = config
    return thinking.get("budget_tokens") if thinking else None


def _thinking(rc, model, ax, is_native):
    """The `thinking` object and the `output_config.effort` to send for `rc`."""
    hint = dict(ax.get("thinking") or {})  # type, display
    kind = hint.pop("type", None)
    effort = rc.effort
    if is_native:
        if ax.get("effort") and _EFFORT_FROM.get(ax["effort"]) == effort:
            effort = ax["effort"]  # the exact wire value (max / xhigh) when the IR value is unchanged
    is_on = rc.is_enabled or (rc.is_enabled is None and (rc.budget_tokens is not None or
                                                         (effort is not None and not is_native)))
    is_adaptive = kind == "adaptive" or (not is_native and _is_adaptive_model(model))
    if rc.is_enabled is False:
        thinking = {"type": "disabled"}
    elif is_on and is_adaptive:
        thinking = {"type": "adaptive"}
        if effort is None and rc.budget_tokens is not None and not is_native:
            effort = ir.effort_for_budget(rc.budget_tokens)
    elif is_on:
        budget = rc.budget_tokens
        if budget is None:
            budget = _BUDGET_FOR_EFFORT.get(effort, _BUDGET_FOR_EFFORT["medium"])
        thinking = {"type": "enabled", "budget_tokens": budget if is_native else max(_MIN_BUDGET, budget)}
        effort = effort if is_native else None  # effort on budget-thinking models is rejected
    elif kind is not None:
        thinking = {"type": kind}
    else:
        return None, effort if is_native else None
    for key, value in hint.items():
        thinking.setdefault(key, value)
    if not is_native and is_adaptive and rc.include_summary is not None and thinking["type"] == "adaptive":
        # Only adaptive-era models take `display`; a Responses client asking for a summary wants the text.
        thinking["display"] = "summarized" if rc.include_summary else "omitted"
    if not is_native and effort is not None:
        effort = _EFFORT_TO.get(effort, effort)
    return thinking, effort if thinking["type"] != "disabled" or is_native else None


def _is_adaptive_model(model: str) -> bool:
    """Claude 4.6 and later prefer (Opus 4.7+ require) adaptive thinking with an effort level."""
    match = _VERSION.search(model or "")
    return bool(match) and (int(match.group(1)), int(match.group(2) or 0)) >= (4, 6)


def _number(value, name: str, kinds=(int, float)):
    # Other formats' parsers carry sampling values as sent; a wrong type must be a 400, not a crash.
    if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
        raise ClientError("%s must be a number" % name, 400)
    return value


def _max_tokens(request, budget, is_thinking) -> int:
    requested = _number(request.max_tokens, "max_tokens")
    value = requested
    if not value:
        value = next((n for pattern, n in _MAX_TOKENS if pattern.search(request.model or "")), _DEFAULT_MAX_TOKENS)
        if is_thinking:
            value = max(value, _THINKING_MAX_TOKENS)
    if budget is not None and value <= budget:  # the API requires max_tokens > budget_tokens
        value = budget + max(1024, requested or 0)
    return value


def _render_sampling(request, out, is_native, dropped) -> None:
    is_thinking = out.get("thinking", {}).get("type", "disabled") != "disabled"
    temperature, top_p = _number(request.temperature, "temperature"), _number(request.top_p, "top_p")
    if not is_native:
        if temperature is not None and is_thinking and temperature != 1:
            dropped.append("temperature (thinking is on)")
            temperature = None
        if temperature is not None and temperature > 1:  # OpenAI allows 0..2, Anthropic 0..1
            temperature = 1.0
        if top_p is not None and (is_thinking or temperature is not None):
            # Thinking forbids it and Claude 4.5+ models reject temperature together with top_p.
            dropped.append("top_p")
            top_p = None
    top_k = _number(request.top_k, "top_k")
    if top_k is not None and is_thinking and not is_native:
        dropped.append("top_k (thinking is on)")
        top_k = None
    for key, value in (("temperature", temperature), ("top_p", top_p), ("top_k", top_k)):
        if value is not None:
            out[key] = value
    stop = request.stop if is_native else [s for s in request.stop if s.strip()]
    if len(stop) < len(request.stop):  # the API rejects whitespace-only stop sequences
        dropped.append("whitespace-only stop sequences")
    if stop:
        out["stop_sequences"] = stop
    for name in ("seed", "presence_penalty", "frequency_penalty"):
        if getattr(request, name) is not None:
            dropped.append(name)
    if request.metadata:
        dropped.append("metadata (Anthropic takes only user_id)")
