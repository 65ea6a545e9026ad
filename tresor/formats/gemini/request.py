"""Gemini generateContent request bodies <-> ir.Request.

Keys are read in camelCase or snake_case (google-genai vs litellm/aider) and always rendered in
camelCase: a snake_case body does not round-trip byte-for-byte, which never matters because
same-format traffic is forwarded untouched (STYLE.md 4.2). Request.extras["gemini"] keys:
`unknown` (top-level), `generation` (unknown generationConfig keys), `thinking` / `tool_config`
(raw objects, re-emitted while the IR still says the same), `tools` (layout of the tools array and
its non-function tools), `system` / `system_others`, `schema_key` / `response_schema` / `keep_meta`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from tresor.errors import TranslationError
from tresor.formats import ir
from tresor.formats.gemini.parts import parse_parts, render_parts
from tresor.formats.gemini.wire import ID, CallIds, camel_keys, ext, get, has, rest

_TOP = ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig")
_ROLE_OUT = {"user": "user", "assistant": "model", "tool": "user", "system": "user"}
_MODE_IN = {"AUTO": "auto", "NONE": "none", "ANY": "required", "VALIDATED": "auto"}
_MODE_OUT = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}
_SAMPLING = (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"),
             ("max_tokens", "maxOutputTokens"), ("seed", "seed"),
             ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"))
# Effort -> thinkingBudget for requests from other formats. Budgets work on Gemini 2.5 and 3
# (3 also takes thinkingLevel, 2.5 rejects it). Limits from the Gemini thinking docs: Flash and
# Flash-Lite 512..24576 (Flash-Lite's minimum), Pro 128..32768.
# Gemini's own extremes around the shared table: "none" turns thinking off, 512 is Flash's minimum.
_EFFORT_BUDGET = dict(ir.EFFORT_BUDGETS, none=0, minimal=512, xhigh=32768)
_MAX_STOP = 5  # generationConfig.stopSequences takes at most 5 (400 otherwise)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = ("items", "not", "additionalProperties")
_SCHEMA_MAPS = ("properties", "$defs", "definitions")


def json_schema(node: Any) -> Any:
    """A Gemini OpenAPI-subset schema (`parameters`, `responseSchema`) as JSON Schema: enum type
    names lowercased ("OBJECT" -> "object", as google-genai sends them) and `nullable: true` folded
    into the type. Anthropic validates input_schema as JSON Schema and rejects "OBJECT"."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: Dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: json_schema(s) for name, s in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_ONE:
            out[key] = json_schema(value)
        elif key != "nullable":
            out[key] = value
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _without_meta(schema: Any, ex: Dict[str, Any], flag: str) -> Any:
    """`schema` minus a root `$schema` unless the Gemini client sent one (`ex[flag]`): Claude Code
    and zod emit it, and it is not a keyword Gemini's JSON Schema fields list as supported."""
    if isinstance(schema, dict) and "$schema" in schema and not ex.get(flag):
        return {k: v for k, v in schema.items() if k != "$schema"}
    return schema


def _parse_system(raw: Any, ex: Dict[str, Any], ids: CallIds) -> List[ir.Part]:
    if isinstance(raw, str):
        ex["system"] = "string"
        return [ir.Text(raw)]
    if not isinstance(raw, dict):
        return []
    parts_raw = get(raw, "parts")
    parts, others = parse_parts(parts_raw if isinstance(parts_raw, list) else [parts_raw], ids)
    if rest(raw, ("parts",)):
        ex["system"] = rest(raw, ("parts",))
    if others:
        ex["system_others"] = others
    return parts


def _parse_content(raw: Dict[str, Any], ids: CallIds) -> ir.Message:
    role_raw = get(raw, "role")
    parts, others = parse_parts(get(raw, "parts"), ids)
    is_results = bool(parts) and not others and all(isinstance(p, ir.ToolResult) for p in parts)
    role = "assistant" if role_raw == "model" else "tool" if is_results or role_raw == "function" else "user"
    ex: Dict[str, Any] = {}
    if role_raw != _ROLE_OUT[role] or role == "tool":
        ex["role"] = role_raw  # tool turns always carry it: it also marks "do not merge"
    if others:
        ex["others"] = others
    if rest(raw, ("role", "parts")):
        ex["unknown"] = rest(raw, ("role", "parts"))
    calls = [p for p in parts if isinstance(p, ir.ToolCall)]
    if calls and not any("thoughtSignature" in ext(p.extras) for p in parts):
        ex["unsigned"] = True
    return ir.Message(role, parts, extras={ID: ex} if ex else {})


def _parse_decl(decl: Dict[str, Any]) -> ir.ToolSpec:
    ex: Dict[str, Any] = {}
    params = get(decl, "parametersJsonSchema")
    if isinstance(params, dict) and "$schema" in params:
        ex["keep_meta"] = True
    if not has(decl, "parametersJsonSchema") and has(decl, "parameters"):
        raw = get(decl, "parameters")
        params = json_schema(raw)
        ex["schema_key"] = "parameters"
        if params != raw:
            ex["parameters"] = raw
    extra = rest(decl, ("name", "description", "parameters", "parametersJsonSchema"))
    if extra:
        ex["extra"] = extra
    return ir.ToolSpec(get(decl, "name") or "", get(decl, "description"), params,
                       extras={ID: ex} if ex else {})


def _parse_tools(raw: Any, ex: Dict[str, Any]) -> List[ir.ToolSpec]:
    specs: List[ir.ToolSpec] = []
    layout: List[Dict[str, Any]] = []
    for tool in raw if isinstance(raw, list) else []:
        if not isinstance(tool, dict):
            continue
        decls = get(tool, "functionDeclarations")
        count = None
        if isinstance(decls, list):
            specs.extend(_parse_decl(d) for d in decls if isinstance(d, dict))
            count = len(specs) - sum(s["n"] or 0 for s in layout)
        layout.append({"n": count, "other": rest(tool, ("functionDeclarations",))})
    if raw is not None and layout != [{"n": len(specs), "other": {}}]:
        ex["tools"] = layout
    return specs


def _parse_tool_choice(config: Any) -> Optional[ir.ToolChoice]:
    calling = get(config, "functionCallingConfig")
    if not isinstance(calling, dict):
        return None
    mode = str(get(calling, "mode") or "AUTO").upper()
    names = get(calling, "allowedFunctionNames") or []
    if mode == "ANY" and len(names) == 1:
        return ir.ToolChoice("tool", names[0])
    return ir.ToolChoice(_MODE_IN.get(mode, "auto"))


def _parse_thinking(config: Any) -> Optional[ir.ReasoningConfig]:
    if not isinstance(config, dict):
        return None
    budget, include, level = (get(config, "thinkingBudget"), get(config, "includeThoughts"),
                              get(config, "thinkingLevel"))
    rc = ir.ReasoningConfig(include_summary=include if isinstance(include, bool) else None)
    if isinstance(budget, int) and not isinstance(budget, bool):
        rc.is_enabled = budget != 0
        rc.budget_tokens = budget if budget > 0 else None  # -1 = dynamic: on, no fixed budget
    if isinstance(level, str):
        rc.effort = level.lower()
    return rc


def _parse_response_format(gen: Dict[str, Any], ex: Dict[str, Any], used: List[str]) -> ir.ResponseFormat:
    if has(gen, "responseJsonSchema"):
        used.append("responseJsonSchema")
        schema = get(gen, "responseJsonSchema")
        if isinstance(schema, dict) and "$schema" in schema:
            ex["keep_meta"] = True
        return ir.ResponseFormat("json_schema", schema=schema)
    if has(gen, "responseSchema"):
        used.append("responseSchema")
        raw = get(gen, "responseSchema")
        ex["schema_key"] = "responseSchema"
        if json_schema(raw) != raw:
            ex["response_schema"] = raw
        return ir.ResponseFormat("json_schema", schema=json_schema(raw))
    return ir.ResponseFormat("json_object")


def _parse_generation(gen: Any, req: ir.Request, ex: Dict[str, Any]) -> None:
    if not isinstance(gen, dict):
        return
    for field, key in _SAMPLING:
        setattr(req, field, get(gen, key))
    used = [key for _, key in _SAMPLING] + ["stopSequences", "thinkingConfig"]
    stop = get(gen, "stopSequences")
    req.stop = list(stop) if isinstance(stop, list) else []
    if get(gen, "responseMimeType") == "application/json":
        used.append("responseMimeType")
        req.response_format = _parse_response_format(gen, ex, used)
    if has(gen, "thinkingConfig"):
        ex["thinking"] = camel_keys(get(gen, "thinkingConfig"))
        req.reasoning = _parse_thinking(ex["thinking"])
    ex["generation"] = rest(gen, used)


def parse_request(body: Any, *, model: str = "", is_stream: Optional[bool] = None) -> ir.Request:
    """Parse a generateContent body; `model` and `is_stream` come from the URL (the body has neither).

    Raises TranslationError(400) when the body is not a JSON object. Tool-call ids are synthesised
    (`call_gemini_<n>`) for calls without one; results without id answer the oldest open call of
    the same name. A streaming Gemini client always gets usage, so is_usage_in_stream = is_stream.
    """
    if not isinstance(body, dict):
        raise TranslationError("gemini: request body must be a JSON object", 400)
    ex: Dict[str, Any] = {}
    ids = CallIds()
    req = ir.Request(model=model or "", is_stream=bool(is_stream), is_usage_in_stream=bool(is_stream))
    req.system = _parse_system(get(body, "systemInstruction"), ex, ids)
    contents = get(body, "contents")
    req.messages = [_parse_content(c, ids) for c in contents if isinstance(c, dict)] \
        if isinstance(contents, list) else []
    req.tools = _parse_tools(get(body, "tools"), ex)
    if has(body, "toolConfig"):
        ex["tool_config"] = camel_keys(get(body, "toolConfig"))
        req.tool_choice = _parse_tool_choice(ex["tool_config"])
    _parse_generation(get(body, "generationConfig"), req, ex)
    if rest(body, _TOP):
        ex["unknown"] = rest(body, _TOP)
    if ex:
        req.extras[ID] = ex
    return req


def _render_contents(req: ir.Request) -> List[Dict[str, Any]]:
    names = {p.id: p.name for m in req.messages for p in m.parts if isinstance(p, ir.ToolCall)}
    contents: List[Dict[str, Any]] = []
    was_foreign_tool = False
    for msg in req.messages:
        ex = ext(msg.extras)
        should_sign = msg.role == "assistant" and not ex.get("unsigned")
        parts = render_parts(msg.parts, names, ex.get("others"), should_sign)
        is_foreign_tool = msg.role == "tool" and not ex
        if not parts and not ex:
            continue
        if is_foreign_tool and was_foreign_tool:
            # One OpenAI `tool` message per result; Gemini wants all responses to a parallel call
            # turn in one content (400 "number of function response parts is equal to ...").
            contents[-1]["parts"].extend(parts)
            continue
        was_foreign_tool = is_foreign_tool
        content: Dict[str, Any] = {"role": ex["role"] if "role" in ex else _ROLE_OUT.get(msg.role, "user"),
                                   "parts": parts}
        if content["role"] is None:
            del content["role"]
        content.update(ex.get("unknown") or {})
        contents.append(content)
    return contents


def _render_system(req: ir.Request, ex: Dict[str, Any], dropped: List[str]) -> Any:
    shape = ex.get("system")
    texts = [p for p in req.system if isinstance(p, ir.Text)]
    if len(texts) < len(req.system):
        dropped.append("gemini: non-text system parts")
    if shape == "string" and len(texts) == 1 and not texts[0].extras:
        return texts[0].text
    parts = render_parts(texts, {}, ex.get("system_others"))
    if not parts and shape is None:
        return None
    body: Dict[str, Any] = {"parts": parts}
    body.update(shape if isinstance(shape, dict) else {})
    return body


def _render_decl(spec: ir.ToolSpec) -> Dict[str, Any]:
    ex = ext(spec.extras)
    decl: Dict[str, Any] = {"name": spec.name}
    if spec.description is not None:
        decl["description"] = spec.description
    if spec.parameters is not None:
        raw = ex.get("parameters")
        # Full JSON Schema goes in parametersJsonSchema: `parameters` takes only an OpenAPI subset
        # (no $schema, $ref, additionalProperties...), and the two fields are mutually exclusive.
        key = ex.get("schema_key", "parametersJsonSchema")
        decl[key] = raw if raw is not None and json_schema(raw) == spec.parameters else \
            _without_meta(spec.parameters, ex, "keep_meta")
    decl.update(ex.get("extra") or {})
    return decl


def _render_tools(req: ir.Request, ex: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
    decls = [_render_decl(t) for t in req.tools]
    layout = ex.get("tools")
    if layout is None:
        return [{"functionDeclarations": decls}] if decls else None
    tools: List[Dict[str, Any]] = []
    if sum(s["n"] or 0 for s in layout) != len(decls):
        layout = [{"n": len(decls), "other": {}}] + [dict(s, n=None) for s in layout if s["other"]]
    start = 0
    for slot in layout:
        tool = dict(slot["other"])
        if slot["n"] is not None:
            tool["functionDeclarations"] = decls[start:start + slot["n"]]
            start += slot["n"]
        if tool:
            tools.append(tool)
    return tools


def _render_tool_config(choice: Optional[ir.ToolChoice], ex: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    raw = ex.get("tool_config")
    if "tool_config" in ex and _parse_tool_choice(raw) == choice:
        return raw
    config = rest(raw, ("functionCallingConfig",)) if isinstance(raw, dict) else {}
    if choice is not None:
        calling: Dict[str, Any] = {"mode": _MODE_OUT.get(choice.mode, "AUTO")}
        if choice.mode == "tool" and choice.name:
            calling["allowedFunctionNames"] = [choice.name]
        config["functionCallingConfig"] = calling
    return config or None


def _render_thinking(rc: Optional[ir.ReasoningConfig], ex: Dict[str, Any], model: str) -> Any:
    if "thinking" in ex and _parse_thinking(ex["thinking"]) == rc:
        return ex["thinking"]
    if rc is None:
        return None
    config: Dict[str, Any] = {}
    cap = 24576 if "flash" in model else 32768
    if rc.is_enabled is False:
        config["thinkingBudget"] = 0
    elif rc.budget_tokens:
        config["thinkingBudget"] = max(512, min(rc.budget_tokens, cap))
    elif rc.effort:
        config["thinkingBudget"] = min(_EFFORT_BUDGET.get(rc.effort, -1), cap)
    elif rc.is_enabled:
        config["thinkingBudget"] = -1
    is_on = bool(config.get("thinkingBudget"))
    # Other formats' clients that ask for thinking expect to see it; Gemini hides thoughts
    # unless includeThoughts is set.
    include = rc.include_summary if rc.include_summary is not None else (True if is_on else None)
    if include is not None:
        config["includeThoughts"] = include
    return config or None


def _render_generation(req: ir.Request, ex: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    gen: Dict[str, Any] = dict(ex.get("generation") or {})
    for field, key in _SAMPLING:
        if getattr(req, field) is not None:
            gen[key] = getattr(req, field)
    if req.stop:
        gen["stopSequences"] = list(req.stop[:_MAX_STOP])
    rf = req.response_format
    if rf is not None and rf.kind in ("json_object", "json_schema"):
        gen["responseMimeType"] = "application/json"
        if rf.kind == "json_schema" and rf.schema is not None:
            raw = ex.get("response_schema")
            key = ex.get("schema_key", "responseJsonSchema")
            gen[key] = raw if raw is not None and json_schema(raw) == rf.schema else \
                _without_meta(rf.schema, ex, "keep_meta")
    thinking = _render_thinking(req.reasoning, ex, req.model)
    if thinking is not None or "thinking" in ex:
        gen["thinkingConfig"] = thinking
    return gen if gen or "generation" in ex else None


def _note_dropped(req: ir.Request) -> None:
    dropped = []
    if req.user:
        dropped.append("gemini: user")
    if req.metadata:
        dropped.append("gemini: metadata")
    if len(req.stop) > _MAX_STOP:
        dropped.append("gemini: stop sequences after the first %d" % _MAX_STOP)
    if req.is_parallel_tool_calls is False:
        dropped.append("gemini: parallel_tool_calls=false")
    if dropped:
        req.extras.setdefault("_dropped", []).extend(dropped)


def render_request(request: ir.Request) -> Dict[str, Any]:
    """The generateContent body for `request` (camelCase; no model, no stream flag: both go in the
    URL, see request_path). Appends what Gemini cannot express to request.extras["_dropped"]."""
    ex = ext(request.extras)
    dropped: List[str] = []
    body: Dict[str, Any] = {"contents": _render_contents(request)}
    system = _render_system(request, ex, dropped)
    if system is not None:
        body["systemInstruction"] = system
    for key, value in (("tools", _render_tools(request, ex)),
                       ("toolConfig", _render_tool_config(request.tool_choice, ex)),
                       ("generationConfig", _render_generation(request, ex))):
        if value is not None:
            body[key] = value
    body.update(ex.get("unknown") or {})
    if dropped:
        request.extras.setdefault("_dropped", []).extend(dropped)
    _note_dropped(request)
    return body
