"""Responses items and content parts <-> IR parts, shared by requests, responses and streams.

The Responses API speaks in *items*: `message` (role + content parts), `reasoning`,
`function_call`, `function_call_output`, plus server-side kinds (web_search_call, item_reference,
custom_tool_call, ...) the IR has no part for. Conventions (extras key "openai_responses"):

* every parsed part keeps a reference to its wire dict (`part` for a content part, `item` for a
  reasoning / function_call / function_call_output item) and renders from it as a template, with
  the IR-controlled fields written over it, so a same-family round trip is exact;
* several message / reasoning / function_call items in a row form one IR assistant message; the
  first content part of each message item carries the item (`item`), the positions of content
  parts the IR cannot hold (`opaque`) and whether the content was a plain string (`string`);
* items the IR cannot hold travel as `before_items` on the next IR part or message (or as the
  request's / response's `trailing_items`) and are dropped across families.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

from tresor.formats import ir

F = "openai_responses"

ASSISTANT_KINDS = ("message", "reasoning", "function_call")


def fx(obj) -> Dict[str, Any]:
    """Our extras of an IR value ({} when it came from another family)."""
    return obj.extras.get(F) or {}


def mark(obj, **values) -> None:
    """Merge `values` into our extras of IR value `obj`."""
    obj.extras.setdefault(F, {}).update(values)


def compact_json(value) -> str:
    """JSON text as OpenAI sends it inside strings (no spaces), for arguments given as objects."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fc_id(call_id: str) -> str:
    """A deterministic function_call item id (`fc_…`) for call id `call_id` from another family."""
    if call_id.startswith("fc_"):
        return call_id
    if call_id.startswith("call_"):
        return "fc_" + call_id[5:]
    return "fc_" + call_id


def item_kind(item) -> str:
    """The item's type; items with a `role` and no `type` are messages (EasyInputMessage)."""
    if not isinstance(item, dict):
        return ""
    return item.get("type") or ("message" if "role" in item else "")


# -- content parts ---------------------------------------------------------------------------

def _split_data_url(url: str) -> Optional[Tuple[str, str]]:
    """("image/png", base64) for `data:image/png;base64,…`; None for anything else."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url.partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    media_type = head[5:-7]
    if not media_type or ";" in media_type:  # parameters would not survive a rebuild
        return None
    return media_type, data


def _data_url(media_type: Optional[str], data: str, default: str) -> str:
    return "data:%s;base64,%s" % (media_type or default, data)


def _parse_image(raw: dict) -> ir.Image:
    url = raw.get("image_url")
    split = _split_data_url(url)
    if split:
        return ir.Image(media_type=split[0], data=split[1], detail=raw.get("detail"))
    return ir.Image(url=url, detail=raw.get("detail"))


def _parse_file(raw: dict) -> ir.Document:
    data = raw.get("file_data")
    if not data:
        return ir.Document(url=raw.get("file_url"), name=raw.get("filename"))
    split = _split_data_url(data)
    if split:
        return ir.Document(media_type=split[0], data=split[1], name=raw.get("filename"))
    return ir.Document(data=data, name=raw.get("filename"))


def _parse_part(raw) -> Optional[ir.Part]:
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if kind in ("input_text", "output_text", "text"):
        part = ir.Text(raw.get("text") or "")
    elif kind == "refusal":
        part = ir.Refusal(raw.get("refusal") or "")
    elif kind == "input_image" and isinstance(raw.get("image_url"), str):
        part = _parse_image(raw)
    elif kind == "input_file" and (raw.get("file_data") or raw.get("file_url")):
        part = _parse_file(raw)
    else:  # file_id-only images / files, audio, …: no IR field can hold them
        return None
    mark(part, part=raw)
    return part


def parse_content(content) -> Tuple[List[ir.Part], List[list]]:
    """IR parts of a message's `content` (string or list) and the [position, raw] pairs kept opaque."""
    if isinstance(content, str):
        return [ir.Text(content)], []
    parts, opaque = [], []
    for position, raw in enumerate(content if isinstance(content, list) else []):
        part = _parse_part(raw)
        if part is None:
            opaque.append([position, raw])
        else:
            parts.append(part)
    return parts, opaque


def content_marker(item: dict, content, opaque: list) -> Dict[str, Any]:
    """What a message item needs besides its parts to render back exactly."""
    marker: Dict[str, Any] = {"item": item}
    if opaque:
        marker["opaque"] = opaque
    if isinstance(content, str):
        marker["string"] = True
    return marker


def _render_text(part, template, role, is_output) -> dict:
    key = "refusal" if isinstance(part, ir.Refusal) else "text"
    if template is not None:
        out = dict(template)
    elif key == "refusal":
        out = {"type": "refusal"}
    elif role != "assistant":
        out = {"type": "input_text"}
    elif is_output:  # the order and fields the API uses in output items
        out = {"type": "output_text", "annotations": [], "logprobs": []}
    else:
        out = {"type": "output_text", "annotations": []}
    out[key] = part.text
    return out


def _render_media(part, template) -> dict:
    out = dict(template) if template is not None else {}
    if isinstance(part, ir.Image):
        out.setdefault("type", "input_image")
        out["image_url"] = part.url if part.data is None else _data_url(part.media_type, part.data, "image/png")
        if part.detail is not None or template is None:
            out["detail"] = part.detail or "auto"  # required by the API's schema
        return out
    out.setdefault("type", "input_file")
    if part.data is None:
        out["file_url"] = part.url
        return out
    was_raw = template is not None and not str(template.get("file_data", "")).startswith("data:")
    out["filename"] = out.get("filename") or part.name or "document.pdf"
    out["file_data"] = part.data if was_raw else _data_url(part.media_type, part.data, "application/pdf")
    return out


def render_part(part, role: str, is_output: bool = False) -> Optional[dict]:
    """The wire content part for IR `part` in a `role` message; None when it has no form there."""
    template = fx(part).get("part")
    if isinstance(part, (ir.Text, ir.Refusal)):
        return _render_text(part, template, role, is_output)
    if isinstance(part, (ir.Image, ir.Document)) and role != "assistant":
        if (part.data is None and not part.url) or (template is None and role == "system"):
            return None
        return _render_media(part, template)
    return None


def render_content(parts, role: str, marker: Dict[str, Any], is_output: bool = False):
    """A message's `content`: a plain string when it was one, else the list with opaque parts re-inserted."""
    opaque = marker.get("opaque") or []
    if marker.get("string") and not opaque and len(parts) == 1 and isinstance(parts[0], ir.Text):
        return parts[0].text
    out = [rendered for rendered in (render_part(p, role, is_output) for p in parts) if rendered is not None]
    for position, raw in opaque:
        out.insert(position, raw)
    return out


# -- reasoning, function calls, function call outputs -----------------------------------------

def reasoning_text(item: dict) -> str:
    """The readable text of a reasoning item: summaries (or raw reasoning_text) joined by blank lines."""
    texts = [s.get("text") or "" for s in item.get("summary") or [] if isinstance(s, dict)]
    if not texts:
        texts = [c.get("text") or "" for c in item.get("content") or [] if isinstance(c, dict)]
    return "\n\n".join(texts)


def parse_reasoning(item: dict) -> ir.Reasoning:
    part = ir.Reasoning(reasoning_text(item))
    mark(part, item=item)
    return part


def render_reasoning(part: ir.Reasoning, item_id: str) -> dict:
    """A reasoning item: the parsed item itself when its text is unchanged, else rebuilt from the text."""
    template = fx(part).get("item")
    if template is not None and reasoning_text(template) == part.text:
        return dict(template)
    out = dict(template) if template is not None else {"id": item_id, "type": "reasoning"}
    out["summary"] = [{"type": "summary_text", "text": part.text}] if part.text else []
    out.pop("content", None)
    return out


def parse_function_call(item: dict) -> ir.ToolCall:
    arguments = item.get("arguments")
    if not isinstance(arguments, str):  # some clients replay parsed arguments
        arguments = "" if arguments is None else compact_json(arguments)
    call_id = item.get("call_id") or item.get("id") or ""
    part = ir.ToolCall(id=str(call_id), name=str(item.get("name") or ""), arguments=arguments)
    mark(part, item=item)
    return part


def render_function_call(part: ir.ToolCall, is_output: bool, status: str = "completed") -> dict:
    """A function_call item; ids from another family become `fc_…` ids (output only: input ids are optional)."""
    template = fx(part).get("item")
    arguments = part.arguments or "{}"
    if template is None:
        if is_output:
            return {"id": fc_id(part.id), "type": "function_call", "status": status, "arguments": arguments,
                    "call_id": part.id, "name": part.name}
        return {"type": "function_call", "call_id": part.id, "name": part.name, "arguments": arguments}
    out = dict(template)
    if "call_id" in out or not out.get("id"):
        out["call_id"] = part.id
    out["name"] = part.name
    original = out.get("arguments")
    if isinstance(original, str) or compact_json(original) != part.arguments:
        out["arguments"] = part.arguments
    return out


def parse_function_call_output(item: dict, names: Dict[str, str]) -> ir.ToolResult:
    output = item.get("output")
    if isinstance(output, list):
        content, opaque = parse_content(output)
    else:
        content, opaque = [ir.Text(output if isinstance(output, str) else "")], []
    call_id = str(item.get("call_id") or "")
    part = ir.ToolResult(call_id=call_id, content=content, name=names.get(call_id))
    mark(part, item=item, opaque=opaque)
    return part


def render_function_call_output(part: ir.ToolResult) -> dict:
    """A function_call_output item. The API has no error flag: an error result's text is prefixed."""
    px = fx(part)
    template = px.get("item")
    out = dict(template) if template is not None else {"type": "function_call_output"}
    out["call_id"] = part.call_id
    is_text = all(isinstance(p, ir.Text) for p in part.content)
    if is_text and (template is None or not isinstance(template.get("output"), list)):
        out["output"] = ir.tool_result_text(part)
    else:
        out["output"] = render_content(part.content, "user", {"opaque": px.get("opaque")})
    return out


# -- a run of assistant items <-> one IR assistant message --------------------------------------

def parse_assistant_item(item: dict) -> List[ir.Part]:
    """IR parts of one message / reasoning / function_call item ([] when nothing is representable)."""
    kind = item_kind(item)
    if kind == "reasoning":
        return [parse_reasoning(item)]
    if kind == "function_call":
        return [parse_function_call(item)]
    content = item.get("content")
    parts, opaque = parse_content(content)
    if parts:
        mark(parts[0], **content_marker(item, content, opaque))
    return parts


def parse_output_items(output) -> Tuple[List[ir.Part], List[Any]]:
    """IR parts of a response's `output` array, and the opaque items left after the last part."""
    parts: List[ir.Part] = []
    pending: List[Any] = []
    for item in output if isinstance(output, list) else []:
        new = parse_assistant_item(item) if item_kind(item) in ASSISTANT_KINDS else []
        if item_kind(item) == "message" and item.get("role", "assistant") != "assistant":
            new = []
        if not new:
            pending.append(item)
            continue
        if pending:
            mark(new[0], before_items=pending)
            pending = []
        parts.extend(new)
    return parts, pending


class _Turn:
    """Builds the items of one assistant turn (one instance per call)."""

    def __init__(self, is_output: bool, new_id: Callable[[str], str], status: str, dropped: List[str]):
        self.is_output = is_output
        self.new_id = new_id
        self.status = status
        self.dropped = dropped
        self.items: List[Any] = []
        self.messages: List[list] = []  # [item, parts, marker] of message items, filled at the end
        self.current: Optional[list] = None

    def add(self, part) -> None:
        px = fx(part)
        if px.get("before_items"):
            self.current = None
            self.items.extend(px["before_items"])
        if isinstance(part, (ir.Text, ir.Refusal)):
            if self.current is None or "item" in px:
                self._open_message(px)
            self.current[1].append(part)
            return
        self.current = None
        if isinstance(part, ir.ToolCall):
            self.items.append(render_function_call(part, self.is_output, self.status))
        elif isinstance(part, ir.Reasoning):
            self._add_reasoning(part, px)
        else:
            self.dropped.append("%s part in an assistant message" % type(part).__name__)

    def _open_message(self, px) -> None:
        template = px.get("item")
        if template is not None:
            item = dict(template)
        elif self.is_output:
            item = {"id": self.new_id("msg"), "type": "message", "status": self.status, "content": [],
                    "role": "assistant"}
        else:
            item = {"type": "message", "role": "assistant", "content": []}
        self.current = [item, [], px if template is not None else {}]
        self.messages.append(self.current)
        self.items.append(item)

    def _add_reasoning(self, part, px) -> None:
        if self.is_output or px.get("item") is not None:
            self.items.append(render_reasoning(part, self.new_id("rs")))
        else:  # the API only accepts its own reasoning items (ids / encrypted_content) as input
            self.dropped.append("reasoning from another format (Responses input accepts only its own)")

    def finish(self) -> List[Any]:
        for item, parts, marker in self.messages:
            item["content"] = render_content(parts, "assistant", marker, self.is_output)
        return self.items


def render_assistant(parts, *, is_output: bool, new_id: Callable[[str], str] = lambda kind: "",
                     status: str = "completed", dropped: Optional[List[str]] = None) -> List[Any]:
    """The items (message / reasoning / function_call / kept opaque items) for IR assistant `parts`."""
    turn = _Turn(is_output, new_id, status, dropped if dropped is not None else [])
    for part in parts:
        turn.add(part)
    return turn.finish()
