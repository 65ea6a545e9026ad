"""Tresor's YAML subset: loads()/loads_located() parse the config file, dumps() writes it back.

Text in, plain values out (dict, list, str, int, float, bool, None); imports only the stdlib and
tresor.errors. The emitter and the comment-keeping write-back live in yaml_emit.py (dumps is re-exported).

Supported grammar:
* One document, optionally opened by a single ``---`` line (before any content); UTF-8 BOM and CRLF accepted.
* Block mappings ``key: value`` (plain or quoted scalar keys) and block sequences ``- item``, including
  ``- key: value`` items with more keys indented under the first, ``- - x``, and a sequence at the same
  indentation as its key (``key:`` then ``- a``). A key with nothing after it (and nothing nested) is null.
* Flow sequences ``[a, "b", 1]`` and flow mappings ``{a: 1, b: [x]}``: nested, may span lines, may end with
  a comma; ``{a, b: 1}`` gives ``a`` a null value.
* Scalars on one line: plain (may contain ``:`` or ``#`` not followed/preceded by a space, e.g. URLs),
  single-quoted (``''`` is a quote) and double-quoted (escapes ``\\\\ \\" \\/ \\0 \\a \\b \\t \\n \\v \\f \\r
  \\e \\N \\_ \\L \\P``, backslash-space, ``\\xNN \\uNNNN \\UNNNNNNNN``); literal ``|`` and folded ``>`` block
  scalars with ``-``/``+`` chomping and an optional indentation digit.
* Plain scalars (keys too) resolve by the YAML 1.2 core schema: null is ``null Null NULL ~`` or nothing;
  booleans ``true True TRUE false False FALSE`` (yes/no/on/off stay strings); ints are decimal, ``0x``
  or ``0o`` with an optional sign; floats ``1.5 1e3 .inf -.inf .nan``; everything else is a string.
* Comments: ``#`` at the start of a line or after whitespace, on their own line or after a value.

Rejected with YamlError(path, line, col, hint): anchors ``&a``, aliases ``*a``, tags ``!x``, merge keys
``<<``, complex keys ``? k``, directives ``%YAML``, ``---`` after content and ``...``, tabs in indentation,
duplicate keys, inconsistent indentation, a ``- `` item and a key at one level, unterminated quotes and
flow collections, text after a quoted scalar or flow collection, invalid escapes, plain scalars starting
with an indicator (``@``, backtick, ``%`` ...) or containing ``: ``, and multi-line plain/quoted scalars.
"""
from __future__ import annotations

import re

from tresor.errors import YamlError

__all__ = ["loads", "loads_located", "dumps"]

_NULLS = frozenset(("~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT_RE = re.compile(r"[-+]?(?:0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF_RE = re.compile(r"([-+]?)\.(?:inf|Inf|INF)")
_NAN_RE = re.compile(r"\.(?:nan|NaN|NAN)")
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_COMMENT_RE = re.compile(r"[ \t]#")
_KEY_COLON_RE = re.compile(r":(?=[ \t]|$)")
_FLOW_PLAIN_END_RE = re.compile(r"[,\[\]{}]|:(?=[ \t,\[\]{}]|$)|[ \t]#")

_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t",
            "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", "N": "\x85", "_": "\xa0",
            "L": "\u2028", "P": "\u2029"}
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}
_ESCAPE_HINT = ("valid escapes are \\\\ \\\" \\/ \\0 \\t \\n \\r \\xNN \\uNNNN \\UNNNNNNNN; "
                "use single quotes for a literal backslash")
_COMPLEX_HINT = "write 'key: value' with a plain or quoted scalar key"
_MIXED = ("a mapping key and a '- ' sequence item cannot share one indentation level",
          "indent the key under its item, or make every line at this level a '- ' item")
_START_ERRORS = {
    "&": ("anchors ('&name') are not supported",
          "YAML anchors are not supported by Tresor's config parser; repeat the value instead"),
    "*": ("aliases ('*name') are not supported",
          "YAML aliases are not supported by Tresor's config parser; repeat the value instead"),
    "!": ("tags ('!tag') are not supported", "remove the tag; quote the value if it must stay a string"),
    "@": ("'@' is reserved and cannot start a plain value", 'quote the value, e.g. "@name"'),
    "`": ("'`' is reserved and cannot start a plain value", 'quote the value, e.g. "`cmd`"'),
    "-": ("a '- ' sequence item cannot start here",
          "put each '- ' item on its own line, indented under its key"),
    "?": ("complex mapping keys ('? ') are not supported", _COMPLEX_HINT),
    ":": ("missing key before ':'", "write 'key: value'"),
}


def loads(text: str, path: str = "<string>") -> object:
    """Parse one config document held in `text`; `path` only labels errors.

    Returns dicts (in file order), lists, str, int, float, bool and None; an empty or comments-only
    document gives None. Raises YamlError with path, 1-based line and col, and a hint for anything
    outside the subset described in the module docstring."""
    return _Parser(text, path, False).parse()


def loads_located(text: str, path: str = "<string>") -> tuple[object, dict]:
    """Like loads(), plus where each entry is: ``{key path: (line, col)}``, both 1-based.

    A key path is a tuple of keys and list indexes, e.g. ``("downstreams", 0, "base_url")``; it points at
    the key of a mapping entry or at the start (the ``-``) of a list item, inside flow collections too.
    ``()`` points at the first token of the document when there is one."""
    parser = _Parser(text, path, False)
    value = parser.parse()
    return value, parser.pos


def dumps(value: object, template: str | None = None) -> str:
    """Return `value` as block-style YAML text ending in a newline; see yaml_emit.dumps for the contract.

    With `template` (the previous file text) the template's comments, key order and spelling of
    unchanged values are kept. Raises TypeError for values that are not JSON-like and YamlError when
    the template itself does not parse."""
    # Deferred: yaml_emit reads templates with this module's parser, so a top-level import would be circular.
    from tresor.config.yaml_emit import dumps as emit

    return emit(value, template)


def _parse_template(text: str) -> _Layout:
    """Parse a write-back template, keeping what yaml_emit needs to reproduce its comments."""
    parser = _Parser(text, "<template>", True)
    parser.parse()
    return parser.lay


class _Layout:
    """Everything write-back keeps from a template besides its value; keyed by the loads_located paths."""

    def __init__(self):
        self.value = None
        self.pos = {}
        self.header = []     # comment/blank lines before the document (up to the last blank line)
        self.footer = []     # comment/blank lines after the last content
        self.leading = {}    # path -> comment/blank lines right before that entry
        self.inline = {}     # path -> rest of the entry's last line after its value: "  # note"
        self.trailing = {}   # path -> comment lines closing that block collection
        self.source = {}     # path -> (value, original text) of a scalar, flow or block-scalar value
        self.keytext = {}    # path -> original spelling of the key
        self.flat = set()    # paths of sequences written at their key's own indentation


def _resolve_plain(text: str) -> object:
    """Resolve an unquoted scalar by the YAML 1.2 core schema; anything unmatched stays a string."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT_RE.fullmatch(text):
        body = text.lstrip("+-")
        sign = -1 if text.startswith("-") else 1
        if body[:2] in ("0x", "0o"):
            return sign * int(body[2:], 16 if body[1] == "x" else 8)
        return sign * int(body)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    inf = _INF_RE.fullmatch(text)
    if inf:
        return float(inf.group(1) + "inf")
    if _NAN_RE.fullmatch(text):
        return float("nan")
    return text


def _starts(line: str, col: int, token: str) -> bool:
    """True when `token` sits at `col` followed by whitespace or the end of the line (an indicator)."""
    end = col + len(token)
    return line.startswith(token, col) and (end == len(line) or line[end] in " \t")


def _skip_ws(line: str, col: int) -> int:
    while col < len(line) and line[col] in " \t":
        col += 1
    return col


def _comment_start(line: str, col: int) -> int:
    """Where a ' #' comment starts at or after `col` (the whitespace before it), else len(line)."""
    match = _COMMENT_RE.search(line, col)
    return match.start() if match else len(line)


def _comment_indent(line: str):
    """Column of a comment line's '#', or None for a blank line."""
    text = line.lstrip(" \t")
    return len(line) - len(text) if text else None


def _fold(lines: list) -> str:
    """Join a folded (>) block scalar: single breaks between ordinary lines become spaces."""
    parts, prev, empties = [], None, 0
    for line in lines:
        if not line:
            empties += 1
            continue
        if prev is None:
            parts.append("\n" * empties)
        else:
            more = line[0] in " \t" or prev[0] in " \t"  # more-indented lines keep their breaks
            parts.append(" " if not empties and not more else "\n" * (empties + more))
        parts.append(line)
        prev, empties = line, 0
    return "".join(parts)


class _Parser:
    """One pass over `lines`: `i` is the next unread line; skipped comment/blank lines wait in `pending`
    until an entry claims them (as its leading comments) or a closing block does (as trailing ones)."""

    def __init__(self, text, path, keep_layout):
        if text.startswith("\ufeff"):
            text = text[1:]
        self.lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
        if self.lines[-1] == "":
            self.lines.pop()
        self.path = path
        self.i = 0
        self.pos = {}
        self.pending = []
        self.lay = _Layout() if keep_layout else None

    def parse(self):
        """Parse the whole document and return its value (None when there is no content)."""
        first = self._skip_header()
        self._split_header(first)
        value = None
        if first is not None:
            indent = self._indent(first)
            self.pos[()] = (first + 1, indent + 1)
            if not (_starts(self.lines[first], indent, "-") or self._is_key(first, indent)):
                self._enter((), first, indent)  # a scalar document owns the comments before it
            value = self._block_node(first, indent, (), -1)
            rest = self._next_content()
            if rest is not None:
                self._stray(rest, value)
        if self.lay is not None:
            self.lay.value, self.lay.pos = value, self.pos
            self.lay.footer = self.lay.trailing.pop((), []) + self._take(len(self.pending))
        return value

    # -- lines, comments and errors -------------------------------------------------------------

    def _fail(self, message, li, ci, hint):
        raise YamlError(message, path=self.path, line=li + 1, col=ci + 1, hint=hint)

    def _next_content(self):
        """Skip blank and comment lines (queueing them); return the next content line's index or None."""
        while self.i < len(self.lines):
            text = self.lines[self.i].lstrip(" \t")
            if text and text[0] != "#":
                return self.i
            self.pending.append(self.i)
            self.i += 1
        return None

    def _skip_header(self):
        """Accept one leading '---' line (kept with the header comments); return the first content line."""
        first = self._next_content()
        if first is not None and _starts(self.lines[first], 0, "---"):
            line = self.lines[first]
            col = _skip_ws(line, 3)
            if col < len(line) and line[col] != "#":
                self._fail("content on the '---' line is not supported", first, col,
                           "start the document on the line after '---'")
            self.pending.append(first)
            self.i = first + 1
            first = self._next_content()
        return first

    def _split_header(self, first):
        """Header = the queued lines up to the last blank one (all of them if none, or if no content)."""
        blanks = [n for n, li in enumerate(self.pending) if not self.lines[li].strip()]
        count = len(self.pending) if first is None or not blanks else blanks[-1] + 1
        header = self._take(count)
        if self.lay is not None:
            self.lay.header = header

    def _take(self, count):
        taken = [self.lines[li] for li in self.pending[:count]]
        del self.pending[:count]
        return taken

    def _indent(self, li):
        """Indentation of content line `li`; rejects tabs there and document markers at column 0."""
        line = self.lines[li]
        indent = len(line) - len(line.lstrip(" "))
        if line[indent] == "\t":
            self._fail("tab character used for indentation", li, indent, "indent with spaces, not tabs")
        if indent == 0 and _starts(line, 0, "---"):
            self._fail("multiple documents ('---') are not supported", li, 0,
                       "keep one document per config file; '---' may only open the file")
        if indent == 0 and _starts(line, 0, "..."):
            self._fail("the document end marker '...' is not supported", li, 0, "remove the '...' line")
        if line[0] == "%":
            self._fail("directives such as '%YAML' are not supported", li, 0, "remove the directive line")
        return indent

    def _bad_indent(self, li):
        col = self._indent(li)
        self._fail("bad indentation: column %d matches no enclosing block" % (col + 1), li, col,
                   "align the line with its siblings; only a line ending in 'key:' or '-' may have "
                   "more-indented lines under it")

    def _stray(self, li, value):
        if isinstance(value, (dict, list)):
            self._bad_indent(li)
        self._fail("unexpected content after the top-level value", li, self._indent(li),
                   "plain values must fit on one line; quote the text or use a '|' block scalar")

    def _enter(self, path, li, ci):
        """Start an entry at (li, ci): record where it is and give it the queued comments."""
        self.pos[path] = (li + 1, ci + 1)
        self.i = li + 1
        leading = self._take(len(self.pending))
        if self.lay is not None and leading:
            self.lay.leading[path] = leading

    def _claim_trailing(self, path, indent, nxt):
        """A block at `indent` ends before content line `nxt`: keep the queued comments indented at least
        as deep as the block (and deeper than `nxt`) as its trailing ones, e.g. a commented-out item."""
        if self.lay is None or not self.pending:
            return
        after = self._indent(nxt) if nxt is not None else -1
        depths = [_comment_indent(self.lines[li]) for li in self.pending]
        bound = max((n + 1 for n, d in enumerate(depths) if d is not None and d > after), default=0)
        take = 0
        for n in range(bound):
            if depths[n] is None:
                continue
            if depths[n] < indent:
                break
            take = n + 1
        if take:
            self.lay.trailing.setdefault(path, []).extend(self._take(take))

    def _note_inline(self, li, end, path):
        """Remember the comment after a value ending at column `end` of line `li`."""
        rest = self.lines[li][end:]
        if self.lay is not None and path is not None and rest.strip():
            self.lay.inline[path] = rest

    def _remember(self, path, value, li, ci, end_li, end):
        if self.lay is None:
            return
        if li == end_li:
            text = self.lines[li][ci:end]
        else:
            text = "\n".join([self.lines[li][ci:]] + self.lines[li + 1:end_li] + [self.lines[end_li][:end]])
        self.lay.source[path] = (value, text)

    # -- block structure ------------------------------------------------------------------------

    def _block_node(self, li, ci, path, outer):
        """Parse the node whose first token is at (li, ci); its block indentation is `ci` and it
        belongs to a block at column `outer` (-1 for the document)."""
        line = self.lines[li]
        if _starts(line, ci, "-"):
            return self._block_seq(li, ci, path, False)
        if _starts(line, ci, "?"):
            self._fail("complex mapping keys ('? ') are not supported", li, ci, _COMPLEX_HINT)
        if self._is_key(li, ci):
            return self._block_map(li, ci, path)
        return self._inline_value(li, ci, path, outer)

    def _is_key(self, li, ci):
        line = self.lines[li]
        if line[ci] in "\"'":
            end = self._quoted(li, ci)[1]
            return _starts(line, _skip_ws(line, end), ":")
        if line[ci] in "[{&*!|>":
            return False
        return _KEY_COLON_RE.search(line, ci, _comment_start(line, ci)) is not None

    def _next_sibling(self, indent):
        """The next content line if it continues the block at `indent`, else None (the block ends)."""
        nxt = self._next_content()
        if nxt is None or self._indent(nxt) < indent:
            return None
        if self._indent(nxt) > indent:
            self._bad_indent(nxt)
        return nxt

    def _block_seq(self, li, ci, path, flat):
        """Parse '- item' lines at column `ci`; a `flat` sequence (at its key's column) ends at a key."""
        items = []
        while True:
            item_path = path + (len(items),)
            self._enter(item_path, li, ci)
            items.append(self._seq_item(li, ci, item_path))
            nxt = self._next_sibling(ci)
            if nxt is None:
                break
            if not _starts(self.lines[nxt], ci, "-"):
                if flat:
                    break
                self._fail(_MIXED[0], nxt, ci, _MIXED[1])
            li = nxt
        self._claim_trailing(path, ci, self._next_content())
        return items

    def _seq_item(self, li, ci, path):
        line = self.lines[li]
        col = _skip_ws(line, ci + 1)
        if col < len(line) and line[col] != "#":
            return self._block_node(li, col, path, ci)
        self._note_inline(li, ci + 1, path)
        return self._nested(ci, path, False)

    def _nested(self, indent, path, flat_ok):
        """The value of an entry with nothing after its ':' or '-': an indented block, a sequence at the
        key's own column (`flat_ok`), or null."""
        nxt = self._next_content()
        if nxt is None or self._indent(nxt) < indent:
            return None
        if self._indent(nxt) > indent:
            return self._block_node(nxt, self._indent(nxt), path, indent)
        if flat_ok and _starts(self.lines[nxt], indent, "-"):
            if self.lay is not None:
                self.lay.flat.add(path)
            return self._block_seq(nxt, indent, path, True)
        return None

    def _block_map(self, li, ci, path):
        """Parse 'key: value' lines at column `ci` into a dict, rejecting duplicate keys."""
        result, first_line = {}, {}
        while True:
            key, colon = self._map_key(li, ci)
            if key in first_line:
                self._fail("duplicate key %r" % (key,), li, ci,
                           "the first %r is on line %d; keep only one of them" % (key, first_line[key]))
            first_line[key] = li + 1
            key_path = path + (key,)
            self._enter(key_path, li, ci)
            if self.lay is not None:
                self.lay.keytext[key_path] = self.lines[li][ci:colon].rstrip(" \t")
            result[key] = self._map_value(li, colon + 1, ci, key_path)
            nxt = self._next_sibling(ci)
            if nxt is None:
                break
            if _starts(self.lines[nxt], ci, "-"):
                self._fail(_MIXED[0], nxt, ci, _MIXED[1])
            li = nxt
        self._claim_trailing(path, ci, self._next_content())
        return result

    def _map_key(self, li, ci):
        """Parse the key at (li, ci); return (key, column of its ':')."""
        line = self.lines[li]
        if _starts(line, ci, "?"):
            self._fail("complex mapping keys ('? ') are not supported", li, ci, _COMPLEX_HINT)
        if line[ci] in "\"'":
            key, end = self._quoted(li, ci)
            colon = _skip_ws(line, end)
        else:
            match = _KEY_COLON_RE.search(line, ci, _comment_start(line, ci))
            if match is None or line[ci] in "[{":
                self._fail("expected 'key: value'", li, ci,
                           "add ': ' after the key, or indent this line under the entry it belongs to")
            self._check_plain_start(li, ci)
            colon = match.start()
            text = line[ci:colon].rstrip(" \t")
            if text == "<<":
                self._fail("merge keys ('<<') are not supported", li, ci,
                           "YAML merge keys are not supported by Tresor's config parser; write the keys out")
            key = _resolve_plain(text)
        if not _starts(line, colon, ":"):
            self._fail("expected ':' after the key", li, colon, "write 'key: value'")
        return key, colon

    def _map_value(self, li, after, ci, path):
        line = self.lines[li]
        col = _skip_ws(line, after)
        if col < len(line) and line[col] != "#":
            return self._inline_value(li, col, path, ci)
        self._note_inline(li, after, path)
        return self._nested(ci, path, True)

    # -- scalars on one line ----------------------------------------------------------------------

    def _inline_value(self, li, ci, path, outer):
        """Parse a scalar or flow value starting at (li, ci); nothing but a comment may follow it."""
        ch = self.lines[li][ci]
        if ch in "|>":
            return self._block_scalar(li, ci, path, outer)
        end_li = li
        if ch in "[{":
            value, end_li, end = self._flow(li, ci, path)
        elif ch in "\"'":
            value, end = self._quoted(li, ci)
        else:
            value, end = self._plain(li, ci)
        self._finish_line(end_li, end, path)
        self._remember(path, value, li, ci, end_li, end)
        self.i = end_li + 1
        return value

    def _finish_line(self, li, end, path):
        line = self.lines[li]
        col = _skip_ws(line, end)
        if col >= len(line):
            return
        if line[col] != "#" or col == end:
            self._fail("unexpected text after the value", li, col,
                       "quote the whole value, or put a space and '#' before a comment")
        self._note_inline(li, end, path)

    def _check_plain_start(self, li, ci):
        """Reject a plain scalar that would start with an indicator character."""
        line = self.lines[li]
        ch = line[ci]
        if ch in "-?:" and not _starts(line, ci, ch):
            return
        if ch in _START_ERRORS:
            self._fail(_START_ERRORS[ch][0], li, ci, _START_ERRORS[ch][1])
        if ch in "%,[]{}|>#'\"":
            self._fail("%r cannot start a plain value" % ch, li, ci, "quote the value")

    def _plain(self, li, ci):
        """A plain scalar in block context: up to a ' #' comment or the end of the line."""
        self._check_plain_start(li, ci)
        line = self.lines[li]
        text = line[ci:_comment_start(line, ci)].rstrip(" \t")
        colon = _KEY_COLON_RE.search(text)
        if colon:
            self._fail("':' followed by a space inside a plain value", li, ci + colon.start(),
                       'quote the value, e.g. "a: b"')
        return _resolve_plain(text), ci + len(text)

    def _quoted(self, li, ci):
        """A quoted scalar starting at (li, ci); returns (text, column after the closing quote)."""
        line, parts, col = self.lines[li], [], ci + 1
        quote = line[ci]
        while col < len(line):
            ch = line[col]
            if ch == quote and quote == "'" and line.startswith("''", col):
                parts.append("'")
                col += 2
            elif ch == quote:
                return "".join(parts), col + 1
            elif ch == "\\" and quote == '"':
                text, col = self._escape(li, col)
                parts.append(text)
            else:
                parts.append(ch)
                col += 1
        kind = "single" if quote == "'" else "double"
        self._fail("unterminated %s-quoted string" % kind, li, ci,
                   "close it with %s on the same line; quoted strings cannot span lines (write \\n in "
                   "double quotes, or use a '|' block scalar)" % quote)

    def _escape(self, li, col):
        line = self.lines[li]
        code = line[col + 1:col + 2]
        if code and code in _ESCAPES:
            return _ESCAPES[code], col + 2
        width = _HEX_WIDTH.get(code, 0)
        digits = line[col + 2:col + 2 + width]
        if width and len(digits) == width and _HEX_RE.fullmatch(digits) and int(digits, 16) <= 0x10FFFF:
            return chr(int(digits, 16)), col + 2 + width
        self._fail("invalid escape sequence %r" % line[col:col + 2 + width], li, col, _ESCAPE_HINT)

    # -- block scalars ----------------------------------------------------------------------------

    def _block_scalar(self, li, ci, path, outer):
        """A '|' or '>' scalar whose header is at (li, ci), inside a block at column `outer`."""
        style = self.lines[li][ci]
        chomp, digit, end = self._block_header(li, ci)
        self._note_inline(li, end, path)
        indent = max(outer, 0) + digit if digit else None
        content, trailing, last, stop = self._block_lines(li, indent, outer)
        text = "\n".join(content) if style == "|" else _fold(content)
        if chomp == "-":
            value = text
        elif chomp == "+":
            value = text + "\n" * (len(trailing) + bool(content))
        else:
            value = text + "\n" if content else ""
        # Clipped/stripped trailing blank lines are layout, not content: leave them to the comment queue.
        self.i = stop if chomp == "+" else last + 1
        if self.lay is not None:  # the header's comment is kept apart, as for any other value
            text = "\n".join([self.lines[li][ci:end]] + self.lines[li + 1:self.i])
            self.lay.source[path] = (value, text)
        return value

    def _block_header(self, li, ci):
        line = self.lines[li]
        chomp, digit, col = "", 0, ci + 1
        while col < min(len(line), ci + 3):
            ch = line[col]
            if ch in "+-" and not chomp:
                chomp = ch
            elif ch in "123456789" and not digit:
                digit = int(ch)
            else:
                break
            col += 1
        rest = _skip_ws(line, col)
        if rest < len(line) and (line[rest] != "#" or rest == col):
            self._fail("invalid block scalar header", li, rest,
                       "write '|' or '>', optionally followed by '-' or '+' and an indentation digit; "
                       "the text starts on the next line")
        return chomp, digit, col

    def _block_lines(self, li, indent, outer):
        """The lines after header line `li`: (content texts, trailing empty texts, last content line, stop)."""
        texts, last, j = [], li, li + 1
        while j < len(self.lines):
            raw = self.lines[j]
            depth = len(raw) - len(raw.lstrip(" "))
            if not raw.strip(" ") and (indent is None or depth <= indent):
                texts.append("")
                j += 1
                continue
            if indent is None and depth > outer:
                indent = depth
            if indent is None or depth < indent:
                break
            texts.append(raw[indent:])
            last, j = j, j + 1
        return texts[:last - li], texts[last - li:], last, j

    # -- flow collections -------------------------------------------------------------------------

    def _flow(self, li, ci, path):
        """A flow collection opening at (li, ci); returns (value, end line, column after the closer)."""
        opener = self.lines[li][ci]
        ctx = (li, ci, "]" if opener == "[" else "}")
        result, seen = ([] if opener == "[" else {}), {}
        li, ci = self._flow_skip(li, ci + 1, ctx)
        while self.lines[li][ci] != ctx[2]:
            if opener == "[":
                li, ci = self._flow_item(li, ci, path, result)
            else:
                li, ci = self._flow_pair(li, ci, path, result, seen, ctx)
            li, ci = self._flow_skip(li, ci, ctx)
            ch = self.lines[li][ci]
            if ch == ",":
                li, ci = self._flow_skip(li, ci + 1, ctx)
            elif ch != ctx[2]:
                hint = ("write [{key: value}] for a mapping inside a list" if ch == ":" and opener == "["
                        else "separate entries with ',' and close the collection with '%s'" % ctx[2])
                self._fail("expected ',' or '%s' in the flow collection opened at line %d"
                           % (ctx[2], ctx[0] + 1), li, ci, hint)
        return result, li, ci + 1

    def _flow_skip(self, li, ci, ctx):
        """Skip spaces, line breaks and comments inside a flow collection; fail at the end of the text."""
        while li < len(self.lines):
            line = self.lines[li]
            ci = _skip_ws(line, ci)
            if ci < len(line) and not (line[ci] == "#" and (ci == 0 or line[ci - 1] in " \t")):
                return li, ci
            li, ci = li + 1, 0
        kind = "sequence" if ctx[2] == "]" else "mapping"
        self._fail("unterminated flow %s" % kind, ctx[0], ctx[1], "close it with '%s'" % ctx[2])

    def _flow_item(self, li, ci, path, result):
        item_path = path + (len(result),)
        self.pos[item_path] = (li + 1, ci + 1)
        value, li, ci = self._flow_value(li, ci, item_path)
        result.append(value)
        return li, ci

    def _flow_pair(self, li, ci, path, result, seen, ctx):
        line = self.lines[li]
        if line[ci] in "[{" or _starts(line, ci, "?"):
            self._fail("complex mapping keys are not supported", li, ci, _COMPLEX_HINT)
        key, end = self._flow_scalar(li, ci)
        if key in seen:
            self._fail("duplicate key %r" % (key,), li, ci,
                       "the first %r is on line %d; keep only one of them" % (key, seen[key]))
        seen[key] = li + 1
        key_path = path + (key,)
        self.pos[key_path] = (li + 1, ci + 1)
        value, (li, ci) = None, self._flow_skip(li, end, ctx)
        if self.lines[li][ci] == ":":
            li, ci = self._flow_skip(li, ci + 1, ctx)
            if self.lines[li][ci] not in ",}":
                value, li, ci = self._flow_value(li, ci, key_path)
        result[key] = value
        return li, ci

    def _flow_value(self, li, ci, path):
        if self.lines[li][ci] in "[{":
            return self._flow(li, ci, path)
        value, end = self._flow_scalar(li, ci)
        return value, li, end

    def _flow_scalar(self, li, ci):
        """A quoted or plain scalar inside a flow collection; plain ones end at , [ ] { } ': ' or ' #'."""
        line = self.lines[li]
        if line[ci] in "\"'":
            return self._quoted(li, ci)
        self._check_plain_start(li, ci)
        match = _FLOW_PLAIN_END_RE.search(line, ci)
        text = line[ci:match.start() if match else len(line)].rstrip(" \t")
        if not text:
            self._fail("expected a value", li, ci, "quote the value")
        return _resolve_plain(text), ci + len(text)
