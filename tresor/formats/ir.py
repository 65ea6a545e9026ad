"""The neutral intermediate representation (IR) every format parses into and renders from.

Pure values (STYLE.md 4.2): no I/O, no ids minted by a store, no HTTP details. The IR is
block-structured (a message is a list of typed parts) so no wire format is the ceiling.

Conventions every format module follows:
* `extras` is keyed by format id. `parse_*` of format F writes only `extras[F]`; `render_*` of F
  reads only `extras[F]`. Opaque provider data (Anthropic `signature`, `cache_control`, Gemini
  `thoughtSignature`, Responses `encrypted_content` / item ids) lives there, so it round-trips
  within a family and is dropped across families.
* Token counts in `Usage`: `input_tokens` is the WHOLE prompt, cache reads and cache writes
  included (OpenAI / Gemini style; the Anthropic module adds / subtracts its cache fields);
  `output_tokens` includes reasoning tokens (Gemini's module adds `thoughtsTokenCount`).
  None means "not reported", never 0-by-default.
* Tool-call `arguments` is the JSON text exactly as received (never re-serialised), "" until
  the first delta. Gemini sends objects: its module serialises them once, compactly.
* Stop reasons are the closed vocabulary STOP_REASONS; roles are ROLES.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

ROLES = ("system", "user", "assistant", "tool")
STOP_REASONS = ("end", "max_tokens", "tool_use", "stop_sequence", "content_filter", "error")

# The one table every format uses to turn a thinking budget into an effort level and back
# (Anthropic's documented budgets for its effort levels), so a round trip across formats is stable.
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}


# Formats with no error flag on tool results (OpenAI Chat, Responses) mark an error this way, so
# the model still learns the tool failed (SPEC §3: tool results … errors survive translation).
TOOL_ERROR_PREFIX = "Error: "


def tool_result_text(result: "ToolResult") -> str:
    """The text parts of a tool result joined by newlines, prefixed when it is an error."""
    text = "\n".join(p.text for p in result.content if isinstance(p, Text) and p.text)
    if result.is_error and not text.startswith(TOOL_ERROR_PREFIX):
        text = TOOL_ERROR_PREFIX + text
    return text


def effort_for_budget(budget_tokens: int) -> str:
    """The effort level (low / medium / high) whose budget covers `budget_tokens`."""
    return "low" if budget_tokens <= EFFORT_BUDGETS["low"] else (
        "medium" if budget_tokens <= EFFORT_BUDGETS["medium"] else "high")


@dataclass
class Text:
    """Plain text. `extras[F]` may hold e.g. Anthropic `cache_control` or `citations`."""

    text: str
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Image:
    """An image given inline (`data` base64 + `media_type`) or by `url` (http(s) or data: URL)."""

    media_type: Optional[str] = None
    data: Optional[str] = None
    url: Optional[str] = None
    detail: Optional[str] = None  # OpenAI "low" / "high" / "auto"
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Document:
    """A file such as a PDF, inline (`data` base64) or by `url`; `name` is a filename when known."""

    media_type: Optional[str] = None
    data: Optional[str] = None
    url: Optional[str] = None
    name: Optional[str] = None
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Reasoning:
    """Model reasoning. `text` is the readable thinking / summary ("" when only opaque data exists).

    `is_redacted` marks Anthropic redacted_thinking (its `data` in extras["anthropic"]). Signatures
    and encrypted content live in extras of their family only.
    """

    text: str = ""
    is_redacted: bool = False
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolCall:
    """A function call made by the assistant. `id` is the call id (Responses `call_id`)."""

    id: str
    name: str
    arguments: str = ""
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolResult:
    """The result of tool call `call_id`. `content` is a list of Text / Image / Document parts.

    `name` is the function name when the wire format carries it (Gemini needs it; other
    formats' parsers fill it from the matching ToolCall earlier in the conversation when they can).
    """

    call_id: str
    content: List["Part"] = field(default_factory=list)
    is_error: bool = False
    name: Optional[str] = None
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Refusal:
    """The model declined (OpenAI `refusal` / Responses refusal content)."""

    text: str
    extras: Dict[str, Any] = field(default_factory=dict)


Part = Union[Text, Image, Document, Reasoning, ToolCall, ToolResult, Refusal]


@dataclass
class Message:
    """One conversation turn. Tool results travel as parts of a `tool` (or `user`) message.

    A `system` message inside `Request.messages` is a mid-conversation system / developer
    instruction; the leading system prompt is `Request.system`.
    """

    role: str
    parts: List[Part] = field(default_factory=list)
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolSpec:
    """A function tool the model may call; `parameters` is the JSON schema, kept intact."""

    name: str
    description: Optional[str] = None
    parameters: Optional[Dict[str, Any]] = None
    extras: Dict[str, Any] = field(default_factory=dict)  # e.g. strict, cache_control, defer_loading


@dataclass
class ToolChoice:
    """`mode`: auto, none, required (any tool), or tool (`name` must be called)."""

    mode: str = "auto"
    name: Optional[str] = None


@dataclass
class ReasoningConfig:
    """What the client asked for: thinking on/off, a token budget, or an effort level."""

    is_enabled: Optional[bool] = None
    budget_tokens: Optional[int] = None
    effort: Optional[str] = None  # minimal, low, medium, high
    include_summary: Optional[bool] = None


@dataclass
class ResponseFormat:
    """`kind`: text, json_object, or json_schema (`schema`, `name`, `strict`)."""

    kind: str = "text"
    schema: Optional[Dict[str, Any]] = None
    name: Optional[str] = None
    is_strict: Optional[bool] = None


@dataclass
class Usage:
    """Token counts (see the module docstring for what each includes); None = not reported."""

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    cache_read_tokens: Optional[int] = None
    cache_creation_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None


@dataclass
class Request:
    """A generation request in neutral form."""

    model: str = ""
    system: List[Part] = field(default_factory=list)
    messages: List[Message] = field(default_factory=list)
    tools: List[ToolSpec] = field(default_factory=list)
    tool_choice: Optional[ToolChoice] = None
    is_parallel_tool_calls: Optional[bool] = None
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    top_k: Optional[int] = None
    stop: List[str] = field(default_factory=list)
    seed: Optional[int] = None
    presence_penalty: Optional[float] = None
    frequency_penalty: Optional[float] = None
    reasoning: Optional[ReasoningConfig] = None
    response_format: Optional[ResponseFormat] = None
    user: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    is_stream: bool = False
    is_usage_in_stream: bool = False  # OpenAI stream_options.include_usage
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Response:
    """A complete (non-streamed) assistant answer."""

    id: str = ""
    model: str = ""
    parts: List[Part] = field(default_factory=list)
    stop_reason: Optional[str] = None
    stop_sequence: Optional[str] = None
    usage: Usage = field(default_factory=Usage)
    created_s: Optional[int] = None
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Error:
    """An error from upstream or Tresor: `status` (HTTP), `kind` (e.g. rate_limit_error), `message`."""

    status: int
    message: str
    kind: str = "api_error"
    code: Optional[str] = None


# Stream events. parse_stream yields them in this grammar:
#   Start (PartStart (Delta)* PartStop)* Finish      or, at any point,  Error (and nothing after).
# Part indexes are 0-based, unique within a stream, in order of first appearance; parts may
# interleave (parallel tool calls stream their arguments side by side).


@dataclass
class Start:
    """The stream began. `usage` carries input-token counts when the format reports them early."""

    id: str = ""
    model: str = ""
    usage: Optional[Usage] = None
    created_s: Optional[int] = None
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class PartStart:
    """Part `index` opens. `part` is a Text(""), Reasoning(""), Refusal("") or ToolCall(id, name, "")."""

    index: int
    part: Part


@dataclass
class Delta:
    """More content for part `index`: `text` for Text / Reasoning / Refusal, `arguments` for ToolCall."""

    index: int
    text: str = ""
    arguments: str = ""


@dataclass
class PartStop:
    """Part `index` is complete. `extras` carries data known only at the end (signatures, ids)."""

    index: int
    extras: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Finish:
    """The answer is complete; exactly one per successful stream, always last."""

    stop_reason: Optional[str] = None
    usage: Usage = field(default_factory=Usage)
    stop_sequence: Optional[str] = None


StreamEvent = Union[Start, PartStart, Delta, PartStop, Finish, Error]
