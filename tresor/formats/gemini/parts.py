"""Gemini `Part` objects <-> IR parts, shared by requests and responses.

Opaque data (thoughtSignature, call ids sent by Gemini, unknown part keys) goes to the IR part's
extras["gemini"]: `thoughtSignature`, `id`, `extra` (unknown part keys), `inner` (unknown keys
inside inlineData / fileData / functionCall / functionResponse), `response` (a functionResponse
object that is not the canonical {"result"|"error": text}), `no_args` (functionCall without args),
`native` (a thought part without signature).
"""
from __future__ import annotations

import base64
import mimetypes
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote_to_bytes

from tresor.formats import ir
from tresor.formats.gemini.wire import ID, CallIds, compact, ext, get, has, loads_object, rest

# Gemini 3 rejects a function call in the current turn that lacks a thoughtSignature (400
# "Function call ... is missing a thought_signature"). For calls that did not come from Gemini
# (another provider's history) Google documents this sentinel to skip the validation:
# https://ai.google.dev/gemini-api/docs/thought-signatures (FAQ: transferring conversations).
SKIP_SIGNATURE = "skip_thought_signature_validator"

_MAGIC = (("iVBOR", "image/png"), ("/9j/", "image/jpeg"), ("R0lGOD", "image/gif"),
          ("UklGR", "image/webp"), ("JVBER", "application/pdf"))


def _extras(ex: Dict[str, Any]) -> Dict[str, Any]:
    return {ID: ex} if ex else {}


def _part_ex(raw: Dict[str, Any], consumed: Tuple[str, ...], **more: Any) -> Dict[str, Any]:
    ex = {k: v for k, v in more.items() if v}
    sig = get(raw, "thoughtSignature")
    if sig is not None:
        ex["thoughtSignature"] = sig
    extra = rest(raw, consumed + ("thoughtSignature",))
    if extra:
        ex["extra"] = extra
    return ex


def result_of(response: Any) -> Tuple[str, bool]:
    """(text, is_error) of a functionResponse.response: {"result"|"output"|"content": str} is the
    text, {"error": str} an error text, anything else its compact JSON."""
    if isinstance(response, dict) and len(response) == 1:
        key, value = next(iter(response.items()))
        if isinstance(value, str) and key == "error":
            return value, True
        if isinstance(value, str) and key in ("result", "output", "content"):
            return value, False
    if response is None:
        return "", False
    return compact(response), False


def _canonical(text: str, is_error: bool) -> Dict[str, Any]:
    return {"error": text} if is_error else {"result": text}


def _parse_text(raw: Dict[str, Any]) -> ir.Part:
    is_thought = get(raw, "thought") is True
    consumed = ("text", "thought") if is_thought else ("text",)
    ex = _part_ex(raw, consumed)
    text = get(raw, "text") or ""
    if is_thought:
        # `native` marks Gemini's own thoughts, which render_parts replays (foreign ones it drops).
        return ir.Reasoning(text, extras=_extras(ex or {"native": True}))
    return ir.Text(text, extras=_extras(ex))


def _parse_media(raw: Dict[str, Any], key: str) -> ir.Part:
    blob = get(raw, key) or {}
    mime = get(blob, "mimeType")
    inner = rest(blob, ("mimeType", "data", "fileUri"))
    extras = _extras(_part_ex(raw, (key,), inner=inner))
    is_image = (mime or "").startswith("image/")
    if key == "inlineData":
        data = get(blob, "data")
        if is_image:
            return ir.Image(media_type=mime, data=data, extras=extras)
        return ir.Document(media_type=mime, data=data, extras=extras)
    url = get(blob, "fileUri")
    if is_image:
        return ir.Image(media_type=mime, url=url, extras=extras)
    return ir.Document(media_type=mime, url=url, extras=extras)


def _parse_call(raw: Dict[str, Any], ids: CallIds) -> ir.ToolCall:
    call = get(raw, "functionCall") or {}
    name, raw_id, args = get(call, "name") or "", get(call, "id"), get(call, "args")
    ex = _part_ex(raw, ("functionCall",), id=raw_id, inner=rest(call, ("name", "id", "args")),
                  no_args=args is None, synthetic_id=raw_id is None)
    return ir.ToolCall(ids.for_call(raw_id, name), name, compact({} if args is None else args),
                       extras=_extras(ex))


def _parse_result(raw: Dict[str, Any], ids: CallIds) -> ir.ToolResult:
    answer = get(raw, "functionResponse") or {}
    name, raw_id, response = get(answer, "name") or "", get(answer, "id"), get(answer, "response")
    text, is_error = result_of(response)
    ex = _part_ex(raw, ("functionResponse",), id=raw_id,
                  inner=rest(answer, ("name", "id", "response")))
    if response != _canonical(text, is_error):
        ex["response"] = response
    return ir.ToolResult(ids.for_result(raw_id, name), [ir.Text(text)] if text else [], is_error,
                         name=name, extras=_extras(ex))


def parse_part(raw: Any, ids: CallIds) -> Optional[ir.Part]:
    """The IR part for one Gemini part; None when it has no IR form (executableCode,
    codeExecutionResult, unknown kinds) so the caller keeps it raw."""
    if not isinstance(raw, dict):
        return None
    if has(raw, "functionCall"):
        return _parse_call(raw, ids)
    if has(raw, "functionResponse"):
        return _parse_result(raw, ids)
    for key in ("inlineData", "fileData"):
        if has(raw, key):
            return _parse_media(raw, key)
    if has(raw, "text") or set(rest(raw, ("thought", "thoughtSignature"))) == set():
        return _parse_text(raw)
    return None


def parse_parts(raws: Any, ids: CallIds) -> Tuple[List[ir.Part], List[List[Any]]]:
    """(IR parts, others): `others` lists [position, raw part] for parts with no IR form, so a
    same-family render can put them back where they were."""
    parts: List[ir.Part] = []
    others: List[List[Any]] = []
    for position, raw in enumerate(raws if isinstance(raws, list) else []):
        part = parse_part(raw, ids)
        if part is None:
            others.append([position, raw])
        else:
            parts.append(part)
    return parts, others


def insert_others(parts: List[Dict[str, Any]], others: Any) -> List[Dict[str, Any]]:
    """Put raw parts kept by parse_parts back at their positions."""
    for position, raw in others or []:
        parts.insert(min(position, len(parts)), raw)
    return parts


def _finish(body: Dict[str, Any], ex: Dict[str, Any]) -> Dict[str, Any]:
    if "thoughtSignature" in ex:
        body["thoughtSignature"] = ex["thoughtSignature"]
    body.update(ex.get("extra") or {})
    return body


def _guess_mime(part: Any, default: str) -> Optional[str]:
    if part.media_type:
        return part.media_type
    for magic, mime in _MAGIC:
        if part.data and part.data.startswith(magic):
            return mime
    if part.url and not part.url.startswith("data:"):
        return mimetypes.guess_type(part.url.split("?")[0])[0]
    return default


def _render_media(part: Any) -> Dict[str, Any]:
    ex = ext(part.extras)
    default = "image/jpeg" if isinstance(part, ir.Image) else "application/pdf"
    mime, data, url = _guess_mime(part, default), part.data, part.url
    if data is None and url and url.startswith("data:"):
        head, _, payload = url[5:].partition(",")
        mime = head.split(";")[0] or mime
        data = payload if head.endswith(";base64") else base64.b64encode(
            unquote_to_bytes(payload)).decode("ascii")
    if data is not None:
        blob: Dict[str, Any] = {"mimeType": mime or default, "data": data}
        body = {"inlineData": blob}
    else:
        blob = {"mimeType": mime} if mime else {}
        blob["fileUri"] = url or ""
        body = {"fileData": blob}
    blob.update(ex.get("inner") or {})
    return _finish(body, ex)


def _render_call(part: ir.ToolCall, is_answer: bool = False) -> Dict[str, Any]:
    ex = ext(part.extras)
    call: Dict[str, Any] = {"name": part.name}
    if ex.get("id"):
        call["id"] = ex["id"]
    elif is_answer and part.id and not ex.get("synthetic_id"):
        # An answer from another family: hand the client the upstream's call id, which
        # google-genai echoes in functionResponse.id, so ids stay stable across turns.
        call["id"] = part.id
    if not (ex.get("no_args") and part.arguments in ("", "{}")):
        call["args"] = loads_object(part.arguments)
    call.update(ex.get("inner") or {})
    return _finish({"functionCall": call}, ex)


def _render_result(part: ir.ToolResult, names: Dict[str, str]) -> List[Dict[str, Any]]:
    ex = ext(part.extras)
    text = "\n".join(p.text for p in part.content if isinstance(p, (ir.Text, ir.Refusal)))
    response = ex.get("response")
    if "response" not in ex or result_of(response) != (text, part.is_error):
        response = _canonical(text, part.is_error)
    answer: Dict[str, Any] = {"name": part.name or names.get(part.call_id) or part.call_id,
                              "response": response}
    if ex.get("id"):
        answer["id"] = ex["id"]
    answer.update(ex.get("inner") or {})
    # Images / files in a tool result ride as sibling parts after the functionResponse:
    # functionResponse.parts exists only on Gemini 3, siblings work on every model.
    media = [_render_media(p) for p in part.content if isinstance(p, (ir.Image, ir.Document))]
    return [_finish({"functionResponse": answer}, ex)] + media


def render_part(part: ir.Part, names: Dict[str, str], is_answer: bool = False) -> List[Dict[str, Any]]:
    """The Gemini parts (usually one, none when nothing is left to send) for one IR part.

    `names` maps tool-call ids to function names, for results that do not carry their name;
    `is_answer` is True when rendering a response for a client (not a request to Gemini).
    """
    ex = ext(part.extras)
    if isinstance(part, ir.Text):
        return [_finish({"text": part.text}, ex)] if part.text or ex else []
    if isinstance(part, ir.Reasoning):
        if not ex and (part.is_redacted or not part.text):
            return []
        return [_finish({"text": part.text, "thought": True}, ex)]
    if isinstance(part, ir.Refusal):
        return [{"text": part.text}] if part.text else []
    if isinstance(part, (ir.Image, ir.Document)):
        return [_render_media(part)]
    if isinstance(part, ir.ToolCall):
        return [_render_call(part, is_answer)]
    if isinstance(part, ir.ToolResult):
        return _render_result(part, names)
    return []


def render_parts(parts: List[ir.Part], names: Dict[str, str], others: Any = None,
                 should_sign: bool = False) -> List[Dict[str, Any]]:
    """Gemini parts of a request turn for IR parts (+ raw `others` re-inserted; reasoning without
    Gemini extras left out). With `should_sign` (a model turn not
    known to be unsigned Gemini history), if no part carries a thoughtSignature, the first call
    gets SKIP_SIGNATURE."""
    out: List[Dict[str, Any]] = []
    for part in parts:
        # Another provider's reasoning is not replayed as thought parts: Gemini treats history
        # thoughts as real context and it "confuses the model significantly" (google-gemini/gemini-cli#705).
        if not (isinstance(part, ir.Reasoning) and not ext(part.extras)):
            out.extend(render_part(part, names))
    insert_others(out, others)
    calls = [p for p in out if "functionCall" in p]
    if should_sign and calls and not any("thoughtSignature" in p for p in out):
        calls[0]["thoughtSignature"] = SKIP_SIGNATURE
    return out
