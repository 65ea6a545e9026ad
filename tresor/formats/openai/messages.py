"""OpenAI Chat messages and content parts <-> IR parts, shared by requests and responses.

Same-family exactness uses templates: the parsed wire dict is kept as extras["openai"]["raw"]
and rendering overlays the IR-owned keys onto a copy of it, so unknown keys, explicit nulls
and key order survive. Without a template (another family's IR) a fresh, maximally
compatible shape is built. Imports only ir (and errors via callers).
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Dict, List, Optional, Tuple

from tresor.formats import ir

FMT = "openai"
_REASONING_KEYS = ("reasoning_content", "reasoning")


def ext(obj) -> Dict[str, Any]:
    """The openai extras of an IR object ({} when it came from another family)."""
    return obj.extras.get(FMT) or {}


def drop(request, what: str) -> None:
    """Record something the target cannot express, for the engine's debug log."""
    if request is not None:
        request.extras.setdefault("_dropped", []).append(what)


def _is_text(value) -> bool:
    return isinstance(value, str) and value != ""


def parse_data_url(url: str) -> Optional[Tuple[str, str]]:
    """("image/png", "<base64>") for a base64 data: URL, else None. Rebuilding is exact."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[: -len(";base64")], data


def data_url(media_type: Optional[str], data: str, default: str) -> str:
    """The data: URL for inline base64 `data`."""
    return "data:%s;base64,%s" % (default if media_type is None else media_type, data)


# ---- content parts -------------------------------------------------------------------------

def _parse_image(raw: dict) -> Optional[ir.Part]:
    inner = raw.get("image_url")
    if isinstance(inner, str):  # some clients send the URL string directly
        inner = {"url": inner}
    if not isinstance(inner, dict) or not isinstance(inner.get("url"), str):
        return None
    detail = inner.get("detail") if isinstance(inner.get("detail"), str) else None
    inline = parse_data_url(inner["url"])
    if inline:
        return ir.Image(media_type=inline[0], data=inline[1], detail=detail, extras={FMT: {"raw": raw}})
    return ir.Image(url=inner["url"], detail=detail, extras={FMT: {"raw": raw}})


def _parse_file(raw: dict) -> Optional[ir.Part]:
    inner = raw.get("file")
    if not isinstance(inner, dict) or not _is_text(inner.get("file_data")):
        return None  # file_id-only parts reference OpenAI storage: opaque, dropped elsewhere
    name = inner.get("filename") if isinstance(inner.get("filename"), str) else None
    inline = parse_data_url(inner["file_data"])
    if inline:
        return ir.Document(media_type=inline[0], data=inline[1], name=name, extras={FMT: {"raw": raw}})
    return ir.Document(data=inner["file_data"], name=name, extras={FMT: {"raw": raw, "is_bare": True}})


def _parse_part(raw) -> Optional[ir.Part]:
    """One content part, or None when it has no IR form (input_audio, file_id, unknown types)."""
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if kind in ("text", "refusal") and isinstance(raw.get(kind), str):
        cls = ir.Text if kind == "text" else ir.Refusal
        return cls(raw[kind], extras={FMT: {"raw": raw}})
    if kind == "image_url":
        return _parse_image(raw)
    if kind == "file":
        return _parse_file(raw)
    return None


def parse_content(content) -> Tuple[List[ir.Part], List[int]]:
    """IR parts of a message `content` (string or part list) and the positions of opaque parts."""
    if isinstance(content, str):
        return ([ir.Text(content)] if content else []), []
    if not isinstance(content, list):
        return [], []
    parts, opaque = [], []
    for i, raw in enumerate(content):
        part = _parse_part(raw)
        if part is None:
            opaque.append(i)
        else:
            parts.append(part)
    return parts, opaque


def _overlay_image(part: ir.Image, raw: dict) -> dict:
    out = dict(raw)
    inner = raw.get("image_url")
    url = part.url if part.data is None else data_url(part.media_type, part.data, "image/png")
    if isinstance(inner, str) and part.detail is None:
        out["image_url"] = url
        return out
    inner = dict(inner) if isinstance(inner, dict) else {}
    inner["url"] = url
    if part.detail is None:
        inner.pop("detail", None)
    else:
        inner["detail"] = part.detail
    out["image_url"] = inner
    return out


def _render_image(part: ir.Image) -> Optional[dict]:
    raw = ext(part).get("raw")
    if part.data is None and not part.url:
        return None
    if raw is not None:
        return _overlay_image(part, raw)
    url = part.url if part.data is None else data_url(part.media_type, part.data, "image/png")
    inner = {"url": url}
    if part.detail is not None:
        inner["detail"] = part.detail
    return {"type": "image_url", "image_url": inner}


def _render_document(part: ir.Document, request) -> Optional[dict]:
    pe = ext(part)
    if part.data is None:
        drop(request, "document given by URL (Chat Completions takes inline files only)")
        return None
    media = part.media_type or "application/pdf"
    if media.startswith("text/") and "raw" not in pe:
        try:  # Chat file parts accept PDF only: plain-text documents travel as text
            return {"type": "text", "text": base64.b64decode(part.data).decode("utf-8")}
        except (binascii.Error, ValueError):
            drop(request, "undecodable text document")
            return None
    file_data = part.data if pe.get("is_bare") else data_url(part.media_type, part.data, media)
    out = dict(pe.get("raw") or {"type": "file"})
    inner = dict(out.get("file") or {})
    inner["file_data"] = file_data
    if part.name is not None or "raw" not in pe:
        inner["filename"] = part.name or "document.pdf"
    else:
        inner.pop("filename", None)
    out["file"] = inner
    return out


def render_part(part, request) -> Optional[dict]:
    """The wire content part for an IR part, or None (recorded as dropped) when it has none."""
    if isinstance(part, (ir.Text, ir.Refusal)):
        key = "text" if isinstance(part, ir.Text) else "refusal"
        out = dict(ext(part).get("raw") or {"type": key})
        out[key] = part.text
        return out
    if isinstance(part, ir.Image):
        return _render_image(part)
    if isinstance(part, ir.Document):
        return _render_document(part, request)
    drop(request, "%s part in message content" % type(part).__name__)
    return None


def render_content(parts, raw_content, opaque, request, *, is_assistant=False):
    """Wire `content` for IR parts. `raw_content` is the template's content (or None).

    Same family: the original form (string or list, opaque parts re-inserted). Otherwise a
    string when every part is text (the widest-supported shape), else a part list.
    """
    rendered = [w for w in (render_part(p, request) for p in parts) if w is not None]
    if isinstance(raw_content, list):
        for pos in opaque:
            if pos < len(raw_content):
                rendered.insert(pos, raw_content[pos])
        return rendered
    if all(w.get("type") == "text" for w in rendered):
        texts = [w["text"] for w in rendered if w["text"]]
        if texts or isinstance(raw_content, str) or not is_assistant:
            return "\n".join(texts)
        return None
    if is_assistant:  # assistant content admits text and refusal parts only
        return "\n".join(w["text"] for w in rendered if w.get("type") == "text") or None
    return [w for w in rendered if w.get("type") != "text" or w["text"]]


# ---- assistant messages ----------------------------------------------------------------------

def _parse_tool_calls(calls) -> Tuple[List[ir.ToolCall], List[int]]:
    parts, opaque = [], []
    for i, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or call.get("type", "function") != "function":
            opaque.append(i)  # custom tool calls: OpenAI-only, dropped across families
            continue
        args = fn.get("arguments", "")
        if not isinstance(args, str):  # some clients replay an object; the IR keeps JSON text
            args = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
        parts.append(ir.ToolCall(str(call.get("id") or ""), str(fn.get("name") or ""), args,
                                 extras={FMT: {"raw": call}}))
    return parts, opaque


def parse_assistant(msg: dict) -> Tuple[List[ir.Part], Dict[str, Any]]:
    """IR parts [Reasoning?, content parts..., Refusal?, ToolCall...] and the message extras."""
    parts: List[ir.Part] = []
    meta: Dict[str, Any] = {"raw": msg}
    reasoning = next((msg[k] for k in _REASONING_KEYS if _is_text(msg.get(k))), None)
    if reasoning is not None:
        # DeepSeek / vLLM / llama.cpp use reasoning_content; newer vLLM and Ollama `reasoning`
        meta["reasoning_keys"] = [k for k in _REASONING_KEYS if msg.get(k) == reasoning]
        parts.append(ir.Reasoning(reasoning))
    content, opaque = parse_content(msg.get("content"))
    parts.extend(content)
    if opaque:
        meta["opaque"] = opaque
    if _is_text(msg.get("refusal")):
        parts.append(ir.Refusal(msg["refusal"]))
    if isinstance(msg.get("tool_calls"), list) and msg["tool_calls"]:
        calls, opaque_calls = _parse_tool_calls(msg["tool_calls"])
        parts.extend(calls)
        if opaque_calls:
            meta["opaque_calls"] = opaque_calls
    return parts, meta


def render_tool_call(call: ir.ToolCall) -> dict:
    """A wire tool call; `arguments` is sent verbatim ("{}" when another family left it empty)."""
    raw = ext(call).get("raw")
    if raw is None:
        return {"id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"}}
    out = dict(raw)
    out["id"] = call.id
    fn = dict(raw.get("function") or {})
    fn["name"], fn["arguments"] = call.name, call.arguments
    out["function"] = fn
    return out


def _set_or_pop(out: dict, keys, value, interpreted) -> None:
    """Write `value` under `keys`, or remove the keys this module interpreted when value is empty."""
    for key in keys:
        if value:
            out[key] = value
        elif interpreted(out.get(key)):
            out.pop(key, None)


def _render_calls(calls, raw, meta) -> Optional[list]:
    rendered = [render_tool_call(c) for c in calls]
    raw_calls = raw.get("tool_calls")
    for pos in meta.get("opaque_calls", ()):
        if isinstance(raw_calls, list) and pos < len(raw_calls):
            rendered.insert(pos, raw_calls[pos])
    return rendered or None


def render_assistant(parts, meta: Optional[dict], request) -> dict:
    """The wire assistant message for IR parts; `meta` is parse_assistant's extras (or None)."""
    meta = meta or {}
    raw = meta.get("raw")
    out = dict(raw) if raw is not None else {"role": "assistant"}
    reasoning = "\n".join(p.text for p in parts if isinstance(p, ir.Reasoning) and p.text)
    in_content = [p for p in parts if isinstance(p, ir.Text)
                  or (isinstance(p, ir.Refusal) and "raw" in ext(p))]
    refusal = "\n".join(p.text for p in parts if isinstance(p, ir.Refusal) and "raw" not in ext(p))
    calls = [p for p in parts if isinstance(p, ir.ToolCall)]
    for p in parts:
        if isinstance(p, (ir.Image, ir.Document, ir.ToolResult)):
            drop(request, "%s in an assistant message" % type(p).__name__)
    raw_content = raw.get("content") if raw is not None else None
    content = render_content(in_content, raw_content, meta.get("opaque", ()), request, is_assistant=True)
    if content is not None or raw is None or "content" in raw:
        out["content"] = content  # an explicit null survives; an absent key stays absent
    _set_or_pop(out, meta.get("reasoning_keys") or ["reasoning_content"], reasoning, _is_text)
    _set_or_pop(out, ["refusal"], refusal, _is_text)
    tool_calls = _render_calls(calls, raw or {}, meta)
    _set_or_pop(out, ["tool_calls"], tool_calls, lambda v: isinstance(v, list) and bool(v))
    if raw is None and not tool_calls and not refusal and out.get("content") is None:
        out["content"] = ""  # several servers reject an assistant turn with neither content nor calls
    return out
