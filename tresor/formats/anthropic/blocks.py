"""Anthropic content blocks <-> IR parts, shared by the request, response and stream modules.

Extras convention of this package: `extras["anthropic"]` holds the block's wire keys the IR has no
field for (`cache_control`, `citations`, `signature`, ...), re-emitted verbatim and never overriding a
key derived from the IR, plus meta keys starting with "_" (never sent). Imports only the IR.
"""
from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict, List, Optional
from urllib.parse import unquote

from tresor.formats import ir

ID = "anthropic"

# Image types the Messages API accepts for base64 sources, sniffed from the first base64 characters
# when another format gave data without a media type (the API rejects a missing media_type).
_MAGIC = (("/9j/", "image/jpeg"), ("iVBOR", "image/png"), ("R0lG", "image/gif"), ("UklGR", "image/webp"))


def dumps(value: Any) -> str:
    """Compact JSON, as tool arguments and SSE data are written (non-ASCII kept as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_id(prefix: str) -> str:
    """A fresh id such as `msg_…` / `toolu_…` for answers that arrived without one."""
    return prefix + os.urandom(12).hex()


def own(extras: Dict[str, Any]) -> Dict[str, Any]:
    """This format's extras of an IR value (an empty dict when there are none)."""
    return extras.get(ID) or {}


def keep(wire: Dict[str, Any], known) -> Dict[str, Any]:
    """`{ID: {keys of wire not in known}}`, or {} when there is nothing to keep."""
    rest = {k: v for k, v in wire.items() if k not in known}
    return {ID: rest} if rest else {}


def merge(block: Dict[str, Any], extras: Dict[str, Any]) -> Dict[str, Any]:
    """Add the kept wire keys of `extras` to `block` without overriding IR-derived keys."""
    for key, value in own(extras).items():
        if not key.startswith("_"):
            block.setdefault(key, value)
    return block


def parse_arguments(arguments: str, dropped: List[str]) -> Dict[str, Any]:
    """Tool-call arguments text -> the `input` object the API requires; {} when empty or unusable."""
    if not arguments or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
        if isinstance(value, str):  # double-encoded arguments seen in replayed Codex histories
            value = json.loads(value)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        dropped.append("tool_use input that is not a JSON object")
        return {}
    return value


# ---- wire -> IR


def parse_blocks(content: Any) -> List[ir.Part]:
    """A `content` value (string or list of blocks) -> parts; a string becomes one Text."""
    if isinstance(content, str):
        return [ir.Text(content)]
    if not isinstance(content, list):
        return []
    return [parse_block(b) for b in content]


def parse_block(block: Any) -> ir.Part:
    """One content block -> one part. Unknown block types (server tools, search results, ...) become an
    empty Text holding the raw block in extras, so they round-trip and vanish across families."""
    if not isinstance(block, dict):
        return ir.Text(block if isinstance(block, str) else dumps(block))
    parser = _PARSERS.get(block.get("type"))
    return parser(block) if parser else ir.Text("", {ID: {"_block": block}})


def _parse_text(b):
    return ir.Text(b.get("text") or "", keep(b, ("type", "text")))


def _parse_image(b):
    source = b.get("source") if isinstance(b.get("source"), dict) else {}
    extras = keep(b, ("type", "source"))
    if source.get("type") == "base64" and set(source) <= {"type", "media_type", "data"}:
        return ir.Image(media_type=source.get("media_type"), data=source.get("data"), extras=extras)
    if source.get("type") == "url" and set(source) <= {"type", "url"}:
        return ir.Image(url=source.get("url"), extras=extras)
    extras.setdefault(ID, {})["_source"] = source  # e.g. {"type": "file", "file_id": ...}
    return ir.Image(extras=extras)


def _parse_document(b):
    source = b.get("source") if isinstance(b.get("source"), dict) else {}
    extras = keep(b, ("type", "source", "title"))
    doc = ir.Document(name=b.get("title"), extras=extras)
    kind = source.get("type")
    if kind == "base64" and set(source) <= {"type", "media_type", "data"}:
        doc.media_type, doc.data = source.get("media_type"), source.get("data")
    elif kind == "url" and set(source) <= {"type", "url"}:
        doc.url = source.get("url")
    elif kind == "text" and isinstance(source.get("data"), str) and set(source) <= {"type", "media_type", "data"}:
        # IR documents carry base64; plain-text sources are encoded and marked to restore them.
        doc.media_type = source.get("media_type") or "text/plain"
        doc.data = base64.b64encode(source["data"].encode("utf-8")).decode("ascii")
        doc.extras.setdefault(ID, {})["_text"] = True
    else:
        doc.extras.setdefault(ID, {})["_source"] = source  # content / file sources
    return doc


def _parse_tool_use(b):
    args = dumps(b["input"]) if "input" in b else ""
    return ir.ToolCall(str(b.get("id") or ""), str(b.get("name") or ""), args, keep(b, ("type", "id", "name", "input")))


def _parse_tool_result(b):
    extras = keep(b, ("type", "tool_use_id", "content", "is_error"))
    content = b.get("content")
    mode = "str" if isinstance(content, str) else "list" if isinstance(content, list) else "none"
    extras.setdefault(ID, {})["_content"] = mode
    if b.get("is_error") is not None and not b["is_error"]:
        extras[ID]["is_error"] = b["is_error"]  # an explicit `false` round-trips as a kept key
    return ir.ToolResult(str(b.get("tool_use_id") or ""), parse_blocks(content), bool(b.get("is_error")),
                         extras=extras)


def _parse_thinking(b):
    return ir.Reasoning(b.get("thinking") or "", extras=keep(b, ("type", "thinking")))


def _parse_redacted(b):
    return ir.Reasoning("", is_redacted=True, extras=keep(b, ("type",)))


_PARSERS = {"text": _parse_text, "image": _parse_image, "document": _parse_document,
            "tool_use": _parse_tool_use, "tool_result": _parse_tool_result,
            "thinking": _parse_thinking, "redacted_thinking": _parse_redacted}


# ---- IR -> wire


def render_part(part: ir.Part, dropped: List[str], is_request: bool) -> Optional[Dict[str, Any]]:
    """One part -> one content block, or None when Anthropic cannot carry it (noted in `dropped`).

    `is_request`: thinking without an Anthropic signature is dropped from requests (the API rejects
    unsigned thinking) but rendered with `signature: ""` in answers (SDKs require the field).
    """
    renderer = _RENDERERS.get(type(part))
    return renderer(part, dropped, is_request) if renderer else None


def _render_text(part, dropped, is_request):
    mine = own(part.extras)
    if "_block" in mine:
        return dict(mine["_block"])
    if not part.text and not mine and is_request:
        return None  # the API rejects empty text blocks ("text content blocks must be non-empty")
    return merge({"type": "text", "text": part.text}, part.extras)


def _render_image(part, dropped, is_request):
    source = own(part.extras).get("_source") or _source(part.media_type, part.data, part.url, True)
    if source is None:
        dropped.append("image without data or url")
        return None
    return merge({"type": "image", "source": source}, part.extras)


def _render_document(part, dropped, is_request):
    mine = own(part.extras)
    source = mine.get("_source")
    media_type = part.media_type or ""
    if source is None and part.data and (mine.get("_text") or media_type.startswith("text/")):
        text = base64.b64decode(part.data).decode("utf-8", "replace")
        source = {"type": "text", "media_type": media_type or "text/plain", "data": text}
    elif source is None and ((part.data and media_type in ("application/pdf", "")) or part.url):
        source = _source(media_type or "application/pdf", part.data, part.url, False)
    if source is None:
        dropped.append("document of type %s (Anthropic takes PDF and plain text)" % (media_type or "unknown"))
        return None
    block = {"type": "document", "source": source}
    if part.name is not None:
        block["title"] = part.name
    return merge(block, part.extras)


def _source(media_type, data, url, is_image):
    """A base64 or url source from IR fields; data: URLs become base64 sources."""
    if not data and url and url.startswith("data:"):
        media_type, data = _split_data_url(url)
    if data:
        if not media_type and is_image:
            media_type = next((t for magic, t in _MAGIC if data.startswith(magic)), "image/png")
        return {"type": "base64", "media_type": media_type, "data": data}
    if url:
        return {"type": "url", "url": url}
    return None


def _split_data_url(url):
    head, _, payload = url[5:].partition(",")
    media_type, _, encoding = head.partition(";")
    if encoding != "base64":  # percent-encoded payload: re-encode as base64
        payload = base64.b64encode(unquote(payload).encode("utf-8")).decode("ascii")
    return media_type or None, payload


def _render_tool_call(part, dropped, is_request):
    block = {"type": "tool_use", "id": part.id or new_id("toolu_"), "name": part.name,
             "input": parse_arguments(part.arguments, dropped)}
    return merge(block, part.extras)


def _render_tool_result(part, dropped, is_request):
    block = {"type": "tool_result", "tool_use_id": part.call_id}
    mode = own(part.extras).get("_content")
    blocks = [b for b in (render_part(p, dropped, True) for p in part.content
                          if isinstance(p, (ir.Text, ir.Image, ir.Document))) if b is not None]
    is_plain = all(isinstance(p, ir.Text) and not own(p.extras) for p in part.content)
    if mode == "str" and is_plain:
        block["content"] = "".join(p.text for p in part.content)
    elif mode in ("str", "list") or (blocks and (mode == "none" or not is_plain or len(blocks) > 1)):
        block["content"] = blocks
    elif blocks:  # from another format: a single plain text travels as a string
        block["content"] = blocks[0]["text"]
    if part.is_error:
        block["is_error"] = True
    return merge(block, part.extras)


def _render_reasoning(part, dropped, is_request):
    mine = own(part.extras)
    if part.is_redacted:
        if "data" not in mine:
            dropped.append("redacted reasoning from another format")
            return None
        return merge({"type": "redacted_thinking"}, part.extras)
    if "signature" not in mine and (is_request or not part.text):
        # Unsigned thinking is rejected in requests; empty unsigned thinking says nothing in answers.
        if is_request:
            dropped.append("reasoning without an Anthropic signature")
        return None
    return merge({"type": "thinking", "thinking": part.text, "signature": mine.get("signature", "")}, part.extras)


def _render_refusal(part, dropped, is_request):
    return merge({"type": "text", "text": part.text}, part.extras)


_RENDERERS = {ir.Text: _render_text, ir.Image: _render_image, ir.Document: _render_document,
              ir.ToolCall: _render_tool_call, ir.ToolResult: _render_tool_result,
              ir.Reasoning: _render_reasoning, ir.Refusal: _render_refusal}
