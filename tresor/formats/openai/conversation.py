"""The Chat `messages` array <-> ir.Request.system + ir.Request.messages.

Leading system / developer messages become Request.system (their boundaries and roles kept
in extras["openai"]["system"]); consecutive tool messages become one `tool` turn; a user /
tool turn from another family is split into tool messages followed by a user message.
"""
from __future__ import annotations

from typing import Any, Dict, List

from tresor.errors import ClientError
from tresor.formats import ir
from tresor.formats.openai.messages import (FMT, drop, ext, parse_assistant, parse_content,
                                            render_assistant, render_content)


def _role(msg, index: int) -> str:
    if not isinstance(msg, dict):
        raise ClientError("messages[%d] must be an object" % index)
    return msg.get("role") if isinstance(msg.get("role"), str) else ""


def _parse_plain(msg: dict):
    parts, opaque = parse_content(msg.get("content"))
    meta: Dict[str, Any] = {"raw": msg}
    if opaque:
        meta["opaque"] = opaque
    return parts, meta


def _parse_result(msg: dict, names: Dict[str, str]) -> ir.ToolResult:
    parts, meta = _parse_plain(msg)
    call_id = msg.get("tool_call_id") if isinstance(msg.get("tool_call_id"), str) else ""
    return ir.ToolResult(call_id, parts, name=names.get(call_id), extras={FMT: meta})


def parse_messages(req: ir.Request, msgs: list, ex: dict) -> None:
    """Fill req.system (leading system / developer messages) and req.messages from `msgs`;
    consecutive tool messages become one `tool` turn. Raises ClientError on non-objects."""
    start, system_meta = 0, []
    while start < len(msgs) and _role(msgs[start], start) in ("system", "developer"):
        parts, meta = _parse_plain(msgs[start])
        meta["n"] = len(parts)  # how many IR system parts this message owns
        req.system.extend(parts)
        system_meta.append(meta)
        start += 1
    if system_meta:
        ex["system"] = system_meta
    names: Dict[str, str] = {}
    for index in range(start, len(msgs)):
        msg, role = msgs[index], _role(msgs[index], index)
        if role == "assistant":
            parts, meta = parse_assistant(msg)
            names.update((p.id, p.name) for p in parts if isinstance(p, ir.ToolCall))
            req.messages.append(ir.Message("assistant", parts, {FMT: meta}))
        elif role == "tool":
            result = _parse_result(msg, names)
            if req.messages and req.messages[-1].role == "tool":  # consecutive results: one turn
                req.messages[-1].parts.append(result)
            else:
                req.messages.append(ir.Message("tool", [result]))
        else:  # user, later system / developer, and legacy roles (kept in the raw template)
            parts, meta = _parse_plain(msg)
            ir_role = "system" if role in ("system", "developer") else "user"
            req.messages.append(ir.Message(ir_role, parts, {FMT: meta}))


def _render_plain(msg_meta, parts, role, request) -> dict:
    raw = msg_meta.get("raw")
    out = dict(raw) if raw is not None else {"role": role}
    raw_content = raw.get("content") if raw is not None else None
    out["content"] = render_content(parts, raw_content, msg_meta.get("opaque", ()), request)
    return out


def _texts_only(parts, request, where: str) -> List[ir.Part]:
    kept = [p for p in parts if isinstance(p, ir.Text) or "raw" in ext(p)]
    if len(kept) < len(parts):
        drop(request, "non-text parts in a %s message" % where)
    return kept


def _render_system(request: ir.Request, ex: dict) -> list:
    metas, parts = ex.get("system"), request.system
    if metas and sum(m["n"] for m in metas) == len(parts):
        out, pos = [], 0
        for meta in metas:
            out.append(_render_plain(meta, parts[pos:pos + meta["n"]], "system", request))
            pos += meta["n"]
        return out
    text = "\n".join(p.text for p in _texts_only(parts, request, "system") if p.text)
    return [{"role": "system", "content": text}] if text else []


def _render_result(result: ir.ToolResult, request):
    """(tool message, media parts that must travel in a following user message)."""
    meta = ext(result)
    if "raw" in meta:
        out = _render_plain(meta, result.content, "tool", request)
        out["tool_call_id"] = result.call_id
        return out, []
    # Chat tool messages carry text only; images / files follow in a user message.
    media = [p for p in result.content if isinstance(p, (ir.Image, ir.Document))]
    return {"role": "tool", "tool_call_id": result.call_id, "content": ir.tool_result_text(result)}, media


def _render_turn(msg: ir.Message, request) -> list:
    """A user or tool turn: tool messages first (they must follow the calls), then the rest."""
    out, media = [], []
    for part in msg.parts:
        if isinstance(part, ir.ToolResult):
            tool_msg, extra = _render_result(part, request)
            out.append(tool_msg)
            media.extend(extra)
    rest = [p for p in msg.parts if isinstance(p, (ir.Text, ir.Image, ir.Document))]
    if len(rest) + len(out) < len(msg.parts):
        drop(request, "reasoning / tool calls / refusals in a user message")
    meta = ext(msg)
    if media or rest or (not out and msg.role == "user"):
        user = _render_plain(meta, media + rest, "user", request)
        if user["content"] or not out:
            out.append(user)
    return out


def render_messages(request: ir.Request, ex: dict) -> list:
    """The wire `messages` array: system first, then each turn (a user / tool turn may
    become several wire messages). Reads only extras["openai"]; records drops."""
    out = _render_system(request, ex)
    for msg in request.messages:
        if msg.role == "assistant":
            out.append(render_assistant(msg.parts, ext(msg), request))
        elif msg.role == "system":
            out.append(_render_plain(ext(msg), _texts_only(msg.parts, request, "system"), "system", request))
        else:
            out.extend(_render_turn(msg, request))
    return out
