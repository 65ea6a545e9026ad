"""break_repeat: nudge a model out of a loop when its last three answers were the same text.

Contract: tresor/plugins/base.py. Request hook only; the dialect comes from `x.format` (never
guessed from the body), each described by one row of the _DIALECTS table.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple

from tresor.plugins.base import Plugin

REMINDER = ("You have repeated the same answer three times in a row. Do not repeat it again: take a "
            "different step to make progress, or finish the task.")
REPEATS = 3


class _Dialect(NamedTuple):
    turns: str                          # key of the list of turns in the body
    role: str                           # role of the model's turns
    content: str                        # key of a turn's content (a string or a list of parts)
    reminder: Callable[[], Dict[str, Any]]


def _text(content: Any) -> str:
    """The visible text of a turn's content: a string, or the `text` of its parts (Gemini thoughts excluded)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(part["text"] for part in content
                   if isinstance(part, dict) and isinstance(part.get("text"), str) and part.get("thought") is not True)


def _model_texts(turns: List[Any], dialect: _Dialect) -> List[str]:
    """The stripped text of every model turn, in order (Responses items other than messages skipped)."""
    return [_text(turn.get(dialect.content)).strip() for turn in turns
            if isinstance(turn, dict) and turn.get("role") == dialect.role and turn.get("type", "message") == "message"]


_DIALECTS = {
    "openai": _Dialect("messages", "assistant", "content", lambda: {"role": "user", "content": REMINDER}),
    "anthropic": _Dialect("messages", "assistant", "content",
                          lambda: {"role": "user", "content": [{"type": "text", "text": REMINDER}]}),
    "openai_responses": _Dialect("input", "assistant", "content", lambda: {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": REMINDER}]}),
    "gemini": _Dialect("contents", "model", "parts", lambda: {"role": "user", "parts": [{"text": REMINDER}]}),
}


class BreakRepeat(Plugin):
    id = "break_repeat"
    description = ("Breaks answer loops of agentic clients: when the model's last three turns in the "
                   "conversation have the same non-empty text, appends a user message telling it that it "
                   "has repeated the same answer three times and must take a different step or finish. "
                   "Works in all four dialects (OpenAI, Responses, Anthropic, Gemini), read from the "
                   "request's format; other requests are forwarded untouched.")
    config_schema = {"type": "object", "properties": {}}

    def request(self, x) -> None:
        """Append the reminder to `x.body`'s turns when the last three model texts are identical and non-empty."""
        dialect = _DIALECTS.get(x.format)
        turns = x.body.get(dialect.turns) if dialect is not None and isinstance(x.body, dict) else None
        if not isinstance(turns, list):
            return
        texts = _model_texts(turns, dialect)
        last = texts[-REPEATS:]
        if len(last) == REPEATS and last[0] and last.count(last[0]) == REPEATS:
            turns.append(dialect.reminder())
