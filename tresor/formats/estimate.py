"""A documented, deterministic input-token estimate for count_tokens when no provider can answer.

Used only when the downstream does not speak the client's token-count endpoint. Rule: about
4 characters per token for text, tool schemas and arguments (the usual rule of thumb for
English with BPE tokenizers), 1,600 tokens per image or document (Anthropic's figure for a
~1.15 megapixel image), plus 4 tokens of framing per message. Never an error.
"""
from __future__ import annotations

import json

from tresor.formats import ir

CHARS_PER_TOKEN = 4
TOKENS_PER_IMAGE = 1600
TOKENS_PER_MESSAGE = 4


def _part_chars(part) -> int:
    if isinstance(part, (ir.Text, ir.Refusal)):
        return len(part.text)
    if isinstance(part, ir.Reasoning):
        return len(part.text)
    if isinstance(part, ir.ToolCall):
        return len(part.name) + len(part.arguments)
    if isinstance(part, ir.ToolResult):
        return sum(_part_chars(p) for p in part.content)
    return 0


def _media_count(parts) -> int:
    count = 0
    for part in parts:
        if isinstance(part, (ir.Image, ir.Document)):
            count += 1
        elif isinstance(part, ir.ToolResult):
            count += _media_count(part.content)
    return count


def input_tokens(request: ir.Request) -> int:
    """Estimated prompt tokens of `request` (system, messages, tool definitions). Always >= 1."""
    chars = sum(_part_chars(p) for p in request.system)
    media = _media_count(request.system)
    for message in request.messages:
        chars += sum(_part_chars(p) for p in message.parts)
        media += _media_count(message.parts)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(json.dumps(tool.parameters or {}))
    framing = TOKENS_PER_MESSAGE * (len(request.messages) + (1 if request.system else 0))
    return max(1, -(-chars // CHARS_PER_TOKEN) + media * TOKENS_PER_IMAGE + framing)
