"""Responses API request bodies (`POST /v1/responses`) <-> ir.Request.

System prompt: `instructions` and the *leading* system / developer input items (Codex sends its
prompt that way, with no `instructions`) become `Request.system`; each part remembers where it came
from so the round trip is exact. Later system / developer items are IR `system` messages.

Input items are grouped: a run of message(assistant) / reasoning / function_call items is one IR
assistant message, a run of function_call_output items one IR `tool` message (see items.py).

Kept only in extras["openai_responses"] (dropped across families): the wire key order, hosted and
custom tools (`namespace`, `web_search`, `custom`, `mcp`, …) with their positions, non-function
`tool_choice` objects, `reasoning` / `text` sub-fields the IR lacks (`summary` mode, `verbosity`),
input items the IR cannot hold, and every unknown top-level field (`store`, `include`,
`previous_response_id`, `prompt_cache_key`, `client_metadata`, `truncation`, `service_tier`, …).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from tresor.formats import ir
from tresor.formats.openai_responses import items as it
from tresor.formats.openai_responses.items import F, fx, mark

_HANDLED = ("model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens",
            "temperature", "top_p", "reasoning", "text", "metadata", "user", "stream")

_MIN_OUTPUT_TOKENS = 16  # the API's minimum for max_output_tokens

# Request fields the Responses API has no parameter for.
_UNSUPPORTED = ("top_k", "stop", "seed", "presence_penalty", "frequency_penalty")


# -- parse ---------------------------------------------------------------------------------------

def parse_request(body: Dict[str, Any], *, model: str = "", is_stream: Optional[bool] = None) -> ir.Request:
    """The IR of a Responses request body; everything the IR has no field for goes to extras."""
    x: Dict[str, Any] = {"keys": list(body)}
    req = ir.Request(model=str(body.get("model") or model), extras={F: x})
    req.is_stream = bool(body.get("stream")) if is_stream is None else bool(is_stream)
    req.is_usage_in_stream = req.is_stream  # a Responses stream always ends with usage
    if body.get("stream") is False:
        x["stream_false"] = True
    handled = set(_HANDLED)
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        text = ir.Text(instructions)
        mark(text, instructions=True)
        req.system.append(text)
    elif instructions is not None:  # a prompt-template item list: passed through within the family
        handled.discard("instructions")
    _parse_input(body.get("input"), req, x)
    _parse_tools(body, req, x)
    _parse_options(body, req, x)
    x["unknown"] = {k: v for k, v in body.items() if k not in handled}
    x["nulls"] = [k for k, v in body.items() if v is None and k in handled]
    return req


def _parse_input(value, req: ir.Request, x: Dict[str, Any]) -> None:
    if isinstance(value, str):
        x["input_string"] = True
        req.messages.append(ir.Message("user", [ir.Text(value)]))
    elif isinstance(value, list):
        _InputReader(req, x).read(value)


class _InputReader:
    """Groups input items into IR messages (one instance per parse call)."""

    def __init__(self, req: ir.Request, x: Dict[str, Any]):
        self.req = req
        self.x = x
        self.turn: Optional[ir.Message] = None  # the assistant message being filled
        self.tools: Optional[ir.Message] = None  # the tool message being filled
        self.pending: List[Any] = []  # opaque items waiting for the next IR element
        self.is_leading = True  # still inside the leading system / developer items
        self.names: Dict[str, str] = {}  # call_id -> function name, for ToolResult.name

    def read(self, items: list) -> None:
        for item in items:
            kind = it.item_kind(item)
            if kind == "message" and item.get("role") in ("user", "system", "developer", "assistant"):
                self._message(item)
            elif kind in ("reasoning", "function_call"):
                self._assistant_part(it.parse_assistant_item(item)[0])
            elif kind == "function_call_output":
                self._tool_output(item)
            else:
                self._opaque(item)
        if self.pending:
            self.x["trailing_items"] = self.pending

    def _message(self, item: dict) -> None:
        content = item.get("content")
        parts, opaque = it.parse_content(content)
        marker = it.content_marker(item, content, opaque)
        role = item["role"]
        if role == "assistant":
            if not parts:
                self._opaque(item)
                return
            mark(parts[0], **marker)
            for part in parts:
                self._assistant_part(part)
        elif role in ("system", "developer") and self.is_leading and parts:
            mark(parts[0], **marker)
            for part in parts[1:]:
                mark(part, cont=True)
            self.req.system.extend(parts)
        else:
            self._new_message("user" if role == "user" else "system", parts, marker)

    def _new_message(self, role: str, parts, marker: Dict[str, Any]) -> ir.Message:
        if self.pending:
            marker["before_items"], self.pending = self.pending, []
        message = ir.Message(role, list(parts), extras={F: marker})
        self.req.messages.append(message)
        self.turn = self.tools = None
        self.is_leading = False
        return message

    def _add(self, message: ir.Message, part) -> None:
        if self.pending:
            mark(part, before_items=self.pending)
            self.pending = []
        message.parts.append(part)

    def _assistant_part(self, part) -> None:
        if self.turn is None:
            self.turn = self._new_message("assistant", [], {})
        self._add(self.turn, part)
        if isinstance(part, ir.ToolCall):
            self.names[part.id] = part.name

    def _tool_output(self, item: dict) -> None:
        if self.tools is None:
            self.tools = self._new_message("tool", [], {})
        self._add(self.tools, it.parse_function_call_output(item, self.names))

    def _opaque(self, item) -> None:
        self.is_leading = False
        self.pending.append(item)


def _parse_tools(body: Dict[str, Any], req: ir.Request, x: Dict[str, Any]) -> None:
    opaque = []
    tools = body.get("tools")
    for position, tool in enumerate(tools if isinstance(tools, list) else []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            opaque.append([position, tool])
            continue
        # Some clients send the Chat envelope {type, function: {...}}; accept it, render it back.
        fn = tool["function"] if isinstance(tool.get("function"), dict) else tool
        spec = ir.ToolSpec(name=str(fn.get("name") or ""), description=fn.get("description"),
                           parameters=fn.get("parameters"))
        mark(spec, tool=tool)
        req.tools.append(spec)
    if opaque:
        x["opaque_tools"] = opaque
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        req.tool_choice = ir.ToolChoice(choice)
    elif isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        req.tool_choice = ir.ToolChoice("tool", choice["name"])
    elif choice is not None:  # allowed_tools, hosted-tool and custom choices: same family only
        x["tool_choice"] = choice
        if isinstance(choice, dict) and choice.get("mode") in ("auto", "required"):
            req.tool_choice = ir.ToolChoice(choice["mode"])


def _parse_options(body: Dict[str, Any], req: ir.Request, x: Dict[str, Any]) -> None:
    req.is_parallel_tool_calls = body.get("parallel_tool_calls")
    req.max_tokens = body.get("max_output_tokens")
    req.temperature = body.get("temperature")
    req.top_p = body.get("top_p")
    req.user = body.get("user")
    if isinstance(body.get("metadata"), dict):
        req.metadata = dict(body["metadata"])
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        x["reasoning"] = reasoning
        summary = reasoning.get("summary", reasoning.get("generate_summary"))
        effort = reasoning.get("effort")
        include = None if summary is None else summary != "none"
        enabled = False if effort == "none" else (True if effort or include else None)
        req.reasoning = ir.ReasoningConfig(is_enabled=enabled, effort=effort, include_summary=include)
    text = body.get("text")
    if isinstance(text, dict):
        x["text"] = text
        fmt = text.get("format")
        if isinstance(fmt, dict) and fmt.get("type"):
            req.response_format = ir.ResponseFormat(kind=fmt["type"], schema=fmt.get("schema"),
                                                    name=fmt.get("name"), is_strict=fmt.get("strict"))


# -- render --------------------------------------------------------------------------------------

def render_request(request: ir.Request) -> Dict[str, Any]:
    """A Responses request body for `request`; untranslatable bits are noted in extras["_dropped"]."""
    x = fx(request)
    dropped: List[str] = []
    body: Dict[str, Any] = {"model": request.model}
    instructions, leading = render_system(request, dropped)
    if instructions is not None:
        body["instructions"] = instructions
    body["input"] = _render_input(request, x, leading, dropped)
    nulls = x.get("nulls") or ()
    if not body["input"] and ("input" in nulls or "input" not in x.get("keys", ("input",))):
        del body["input"]
    body.update(render_options(request))
    if F not in request.extras:
        _fit_foreign(request, body, dropped)
    if request.is_stream:
        body["stream"] = True
    elif x.get("stream_false"):
        body["stream"] = False
    dropped.extend(name for name in _UNSUPPORTED if getattr(request, name) not in (None, []))
    body.update(x.get("unknown") or {})
    for key in nulls:  # fields the client sent as null stay null
        body.setdefault(key, None)
    if dropped:
        request.extras.setdefault("_dropped", []).extend(dropped)
    order = x.get("keys")
    if order:
        body = dict([(k, body[k]) for k in order if k in body] + [(k, v) for k, v in body.items() if k not in order])
    return body


def _fit_foreign(request: ir.Request, body: Dict[str, Any], dropped: List[str]) -> None:
    """Adjust a request from another family to what the OpenAI API accepts."""
    if isinstance(body.get("max_output_tokens"), int) and body["max_output_tokens"] < _MIN_OUTPUT_TOKENS:
        body["max_output_tokens"] = _MIN_OUTPUT_TOKENS  # 400 "integer below minimum value" otherwise
    if request.reasoning is not None and request.reasoning.is_enabled:
        # Reasoning models reject sampling parameters ("Unsupported parameter: 'temperature'").
        for key in ("temperature", "top_p"):
            if body.pop(key, None) is not None:
                dropped.append("%s (the model reasons)" % key)


def render_system(request: ir.Request, dropped: List[str]) -> Tuple[Optional[str], List[dict]]:
    """(`instructions`, leading system / developer items) for `Request.system`."""
    texts: List[str] = []
    groups: List[list] = []  # [template, parts, marker] per leading item
    for part in request.system:
        px = fx(part)
        if "item" in px:
            groups.append([px["item"], [part], px])
        elif px.get("cont") and groups:
            groups[-1][1].append(part)
        elif isinstance(part, ir.Text):
            texts.append(part.text)
        else:
            dropped.append("%s part in the system prompt" % type(part).__name__)
    leading = []
    for template, parts, marker in groups:
        item = dict(template)
        item["content"] = it.render_content(parts, item.get("role", "system"), marker)
        leading.append(item)
    return ("\n\n".join(texts) if texts else None), leading


def _render_input(request: ir.Request, x: Dict[str, Any], leading: List[dict], dropped: List[str]):
    messages = request.messages
    if x.get("input_string") and not leading and len(messages) == 1 and messages[0].role == "user" \
            and len(messages[0].parts) == 1 and isinstance(messages[0].parts[0], ir.Text):
        return messages[0].parts[0].text
    out = list(leading)
    for message in messages:
        out.extend(fx(message).get("before_items") or [])
        if message.role == "assistant":
            out.extend(it.render_assistant(message.parts, is_output=False, dropped=dropped))
        elif message.role == "tool":
            out.extend(_tool_items(message, dropped))
        else:
            out.extend(_role_items(message, dropped))
    out.extend(x.get("trailing_items") or [])
    return out


def _role_items(message: ir.Message, dropped: List[str]) -> List[dict]:
    """A user / system message: function_call_output items for its tool results, then the message item."""
    mx = fx(message)
    results = [p for p in message.parts if isinstance(p, ir.ToolResult)]
    rest = [p for p in message.parts if not isinstance(p, ir.ToolResult)]
    out = [it.render_function_call_output(p) for p in results]
    role = "user" if message.role == "user" else "system"
    template = mx.get("item")
    item = dict(template) if template is not None else {"type": "message", "role": role}
    item["content"] = it.render_content(rest, item.get("role", role), mx)
    if isinstance(item["content"], list) and len(item["content"]) - len(mx.get("opaque") or ()) < len(rest):
        dropped.append("a part with no Responses form in a %s message" % role)
    if template is not None or item["content"]:
        out.append(item)
    return out


def _tool_items(message: ir.Message, dropped: List[str]) -> List[dict]:
    out = []
    for part in message.parts:
        if isinstance(part, ir.ToolResult):
            out.append(it.render_function_call_output(part))
        else:
            dropped.append("%s part in a tool message" % type(part).__name__)
    return out


def _render_tool(spec: ir.ToolSpec) -> Dict[str, Any]:
    template = fx(spec).get("tool")
    if template is not None and isinstance(template.get("function"), dict):
        return dict(template)  # the Chat envelope some clients send: as received
    if template is None:
        # strict defaults to true in the Responses API; schemas written for other formats rarely
        # meet strict mode's rules (additionalProperties false, all keys required), so say false.
        out = {"type": "function", "name": spec.name}
        if spec.description is not None:
            out["description"] = spec.description
        out["parameters"] = spec.parameters if spec.parameters is not None else {"type": "object", "properties": {}}
        out["strict"] = False
        return out
    out = dict(template)
    out["name"] = spec.name
    for key in ("description", "parameters"):
        if getattr(spec, key) is not None or key in out:
            out[key] = getattr(spec, key)
    return out


def render_tools(request: ir.Request) -> List[Any]:
    """The `tools` array: function tools from the IR, hosted / custom tools back at their positions."""
    out: List[Any] = [_render_tool(spec) for spec in request.tools]
    for position, raw in fx(request).get("opaque_tools") or []:
        out.insert(position, raw)
    return out


def render_tool_choice(request: ir.Request):
    """The `tool_choice` value, or None when the request sets none."""
    raw = fx(request).get("tool_choice")
    if raw is not None:
        return raw
    choice = request.tool_choice
    if choice is None:
        return None
    if choice.mode == "tool":
        return {"type": "function", "name": choice.name}
    return choice.mode if choice.mode in ("auto", "none", "required") else "auto"


def render_reasoning(request: ir.Request) -> Optional[Dict[str, Any]]:
    """The `reasoning` object: effort (or one derived from a thinking budget) and the summary mode."""
    template = fx(request).get("reasoning")
    config = request.reasoning
    if config is None:
        return dict(template) if template is not None else None
    out = dict(template) if template is not None else {}
    effort = config.effort
    if effort is None and config.is_enabled and config.budget_tokens is not None:
        effort = ir.effort_for_budget(config.budget_tokens)
    if effort is not None:
        out["effort"] = effort
    if "summary" not in out and "generate_summary" not in out:
        # A client of another family that enabled thinking wants its text back: ask for summaries.
        if config.include_summary or (config.include_summary is None and config.is_enabled and template is None):
            out["summary"] = "auto"
    return out or None


def render_text(request: ir.Request) -> Optional[Dict[str, Any]]:
    """The `text` object (output format, plus `verbosity` within the family)."""
    template = fx(request).get("text")
    fmt = request.response_format
    if fmt is None:
        return dict(template) if template is not None else None
    out = dict(template) if template is not None else {}
    old = out.get("format") if isinstance(out.get("format"), dict) else {}
    new = dict(old) if old.get("type") == fmt.kind else {}
    new["type"] = fmt.kind
    if fmt.kind == "json_schema":
        new["name"] = fmt.name or new.get("name") or "response"  # required by the API
        new["schema"] = fmt.schema if fmt.schema is not None else new.get("schema", {})
        if fmt.is_strict is not None:
            new["strict"] = fmt.is_strict
    out["format"] = new
    return out


def render_options(request: ir.Request) -> Dict[str, Any]:
    """Every body field except model / instructions / input / stream, in the API's usual order."""
    x = fx(request)
    keys = x.get("keys", ())
    nulls = x.get("nulls") or ()
    out: Dict[str, Any] = {}
    tools = render_tools(request)
    if tools or ("tools" in keys and "tools" not in nulls):
        out["tools"] = tools
    pairs = (("tool_choice", render_tool_choice(request)), ("parallel_tool_calls", request.is_parallel_tool_calls),
             ("max_output_tokens", request.max_tokens), ("temperature", request.temperature),
             ("top_p", request.top_p), ("reasoning", render_reasoning(request)), ("text", render_text(request)),
             ("metadata", request.metadata or None), ("user", request.user))
    for key, value in pairs:
        if value is not None:
            out[key] = value
        elif key in nulls:
            out[key] = None
        elif key == "metadata" and key in keys:
            out[key] = {}
    return out
