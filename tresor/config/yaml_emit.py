"""Writes values as Tresor's YAML subset (grammar in tresor.config.yaml), keeping a template's comments.

Owns dumps(), which tresor.config.yaml re-exports; imports only the stdlib and that module's parser.
"""
from __future__ import annotations

import math

from tresor.config.yaml import _Layout, _parse_template, _resolve_plain

__all__ = ["dumps"]

# List items are matched to template items by the first of these keys they carry (Tresor's entity ids).
_ID_KEYS = ("id", "input_model_id", "plugin_id", "name")
_INDICATORS = "-?:,[]{}#&*!|>'\"%@`"
_FLOW_UNSAFE = ",[]{}:#"
_ESCAPE_OUT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def dumps(value: object, template: str | None = None) -> str:
    """Return `value` as YAML text ending in a newline, such that ``loads(dumps(v)) == v``.

    Output is block style with 2-space indentation (``- key: v`` for lists of maps), ``[]``/``{}`` for
    empty containers, and strings double-quoted only when a plain scalar would read back differently.

    With `template` (the previous file text), for entries that still exist: comment and blank lines
    before a key or item stay before it, an inline ``# note`` stays on its line, comments closing a
    section stay at its end, and unchanged scalars and flow collections keep their original spelling;
    flow collections stay flow. Mapping keys keep the template's order, new keys follow in the value's
    order, removed keys vanish with their comments. List order follows `value`; items are matched to
    template items by the first of id/input_model_id/plugin_id/name for maps, by value for scalars,
    else by index. The template's header and footer comments are kept. So ``dumps(loads(t), t) == t``
    for text `t` in canonical style. Raises TypeError for non-JSON-like values, YamlError for a bad template.
    """
    layout = _parse_template(template) if template is not None else _Layout()
    emitter = _Emitter(layout)
    emitter.root(value)
    return "\n".join(layout.header + emitter.out + layout.footer) + "\n"


class _Emitter:
    """Output lines for one dumps() call. `tp` is the template path of what is being written, or None
    when the template has no counterpart (then there is nothing to keep)."""

    def __init__(self, layout):
        self.lay = layout
        self.out = []

    def root(self, value):
        self.out.extend(self.lay.leading.get((), ()))
        if value is None and () not in self.lay.pos and self.lay.header:
            return  # a comments-only template stays comments-only: it reads back as None too
        if self._is_block(value, ()):
            self._block(value, (), 0, None)
        else:
            self.out.append(self._inline(value, (), 0) + self.lay.inline.get((), ""))

    def _block(self, value, tp, indent, first):
        """Write a non-empty collection at `indent`; `first` replaces the first line's indentation
        (it is "- " for an item written compactly on its dash line)."""
        if isinstance(value, dict):
            self._map(value, tp, indent, first)
        else:
            self._seq(value, tp, indent, first)

    def _map(self, mapping, tp, indent, first):
        old = self._template(tp)
        known = [key for key in old if key in mapping] if isinstance(old, dict) else []
        known_set = set(known)
        keys = known + [key for key in mapping if key not in known_set]
        for n, key in enumerate(keys):
            kp = tp + (key,) if key in known_set else None
            head = first if n == 0 and first is not None else " " * indent
            self._entry(head + self._key(key, kp) + ":", mapping[key], kp, indent, False)
        self._trailing(tp)

    def _seq(self, items, tp, indent, first):
        for n, (item, ip) in enumerate(zip(items, self._match(items, tp))):
            head = first if n == 0 and first is not None else " " * indent
            self._entry(head + "-", item, ip, indent, True)
        self._trailing(tp)

    def _entry(self, head, value, tp, indent, is_item):
        """Write one key or item: its leading comments, its line(s), and its trailing comments."""
        lay = self.lay
        self.out.extend(lay.leading.get(tp, ()))
        note = lay.inline.get(tp, "")
        if not self._is_block(value, tp):
            text = self._inline(value, tp, indent)
            if text.startswith(("|", ">")):  # a block scalar's comment sits on its header line
                first, newline, rest = text.partition("\n")
                text = first + note + newline + rest
            else:
                text += note
            self.out.append(head + " " + text)
            self._trailing(tp)
        elif is_item and not note:
            self._block(value, tp, indent + 2, head + " ")
        else:
            self.out.append(head + note)
            flat = tp in lay.flat and isinstance(value, list)
            self._block(value, tp, indent if flat else indent + 2, None)

    def _inline(self, value, tp, indent):
        """A scalar or flow value: the template's own text when the value is unchanged."""
        source = self.lay.source.get(tp)
        if source is not None and _same(source[0], value):
            # Multi-line text (block scalars, wrapped flow) is only valid at its original column.
            pos = self.lay.pos.get(tp)
            if "\n" not in source[1] or (pos is not None and pos[1] - 1 == indent):
                return source[1]
        if isinstance(value, (dict, list, tuple)):
            return _flow(value)
        return _scalar(value, False)

    def _key(self, key, kp):
        text = self.lay.keytext.get(kp)
        return text if text is not None else _scalar(key, False)

    def _trailing(self, tp):
        if tp is not None:
            self.out.extend(self.lay.trailing.get(tp, ()))

    def _is_block(self, value, tp):
        """Non-empty collections are written in block style unless the template wrote them in flow."""
        if not isinstance(value, (dict, list, tuple)) or not value:
            return False
        source = self.lay.source.get(tp)
        return source is None or not isinstance(source[0], (dict, list)) or not source[0]

    def _template(self, tp):
        if tp is None:
            return None
        node = self.lay.value
        for part in tp:
            node = node[part]
        return node

    def _match(self, items, tp):
        """The template path of each item: by identity (see _identity), else by index, else None."""
        old = self._template(tp)
        if not isinstance(old, list):
            return [None] * len(items)
        free = {}
        for n, item in enumerate(old):
            ident = _identity(item)
            if ident is not None:
                free.setdefault(ident, []).append(n)
        paths = []
        for n, item in enumerate(items):
            ident = _identity(item)
            if ident is not None:
                slots = free.get(ident)
                paths.append(tp + (slots.pop(0),) if slots else None)
            elif n < len(old) and _identity(old[n]) is None:
                paths.append(tp + (n,))
            else:
                paths.append(None)
        return paths


def _is_scalar(value):
    return value is None or isinstance(value, (str, int, float))


def _identity(item):
    """What makes a list item the same item across edits: its id-like key for a map, its value for a
    scalar; None (match by index) otherwise. The type is part of it so 1, 1.0 and True differ."""
    if isinstance(item, dict):
        for key in _ID_KEYS:
            if key in item and _is_scalar(item[key]):
                return ("key", key, type(item[key]).__name__, item[key])
        return None
    if _is_scalar(item):
        return ("value", type(item).__name__, item)
    return None


def _same(a, b):
    """Equal and of the same types all the way down (so True is not 1 and 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _flow(value):
    if isinstance(value, dict):
        pairs = ("%s: %s" % (_scalar(key, True), _flow(item)) for key, item in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return _scalar(value, True)


def _scalar(value, in_flow):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "%d" % value
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return float.__repr__(value)
    if isinstance(value, str):
        return value if _plain_ok(value, in_flow) else _quote(value)
    raise TypeError("cannot write a %s as YAML" % type(value).__name__)


def _plain_ok(text, in_flow):
    """True when `text` reads back as this same string without quotes."""
    if not text or text[0] in _INDICATORS or text[0] == " " or text[-1] == " ":
        return False
    if ": " in text or " #" in text or text.endswith(":") or text.startswith(("---", "...")):
        return False
    if text == "<<" or (in_flow and any(ch in _FLOW_UNSAFE for ch in text)):
        return False
    if not all(ch.isprintable() for ch in text):
        return False
    return isinstance(_resolve_plain(text), str)


def _quote(text):
    parts = ['"']
    for ch in text:
        if ch in _ESCAPE_OUT:
            parts.append(_ESCAPE_OUT[ch])
        elif ch.isprintable():
            parts.append(ch)
        else:
            code = ord(ch)
            parts.append("\\x%02x" % code if code < 0x100 else
                         "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code)
    parts.append('"')
    return "".join(parts)
