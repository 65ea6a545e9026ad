"""break_repeat: the reminder is appended after three identical non-empty model texts, in all four dialects."""
import copy
from types import SimpleNamespace

import pytest

from tresor.plugins.break_repeat import REMINDER, BreakRepeat

PLUGIN = BreakRepeat()
FORMATS = ["openai", "anthropic", "openai_responses", "gemini"]
TURNS = {"openai": "messages", "anthropic": "messages", "openai_responses": "input", "gemini": "contents"}


def model_turn(fmt, text):
    """A model turn of `fmt` in its most common client shape."""
    if fmt == "openai":
        return {"role": "assistant", "content": text}
    if fmt == "anthropic":
        return {"role": "assistant", "content": [{"type": "text", "text": text}]}
    if fmt == "openai_responses":
        return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    return {"role": "model", "parts": [{"text": text}]}


def user_turn(fmt, text="again"):
    if fmt == "gemini":
        return {"role": "user", "parts": [{"text": text}]}
    if fmt == "openai_responses":
        return {"role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"role": "user", "content": text}


def body_of(fmt, texts):
    turns = []
    for text in texts:
        turns += [user_turn(fmt), model_turn(fmt, text)]
    turns.append(user_turn(fmt))
    return {"model": "m", TURNS[fmt]: turns}


def run(fmt, body):
    x = SimpleNamespace(format=fmt, body=body, headers={}, path="/", meta={})
    PLUGIN.request(x)
    return x.body


EXPECTED_REMINDER = {
    "openai": {"role": "user", "content": REMINDER},
    "anthropic": {"role": "user", "content": [{"type": "text", "text": REMINDER}]},
    "openai_responses": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": REMINDER}]},
    "gemini": {"role": "user", "parts": [{"text": REMINDER}]},
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("texts", [["A", "A", "A"], ["B", "A", "A", "A"], ["A", "A", "A", "A"], ["A", "A", " A\n"]],
                         ids=["three", "last-three", "four", "whitespace"])
def test_three_identical_answers_get_the_reminder(fmt, texts):
    before = len(body_of(fmt, texts)[TURNS[fmt]])
    turns = run(fmt, body_of(fmt, texts))[TURNS[fmt]]
    assert len(turns) == before + 1 and turns[-1] == EXPECTED_REMINDER[fmt]
    assert "three times" in REMINDER and "different step" in REMINDER


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("texts", [["A", "A"], ["A", "B", "A"], ["A", "A", "A", "B"], ["", "", ""], [" ", " ", " "],
                                   []], ids=["two", "different", "broken-by-last", "empty", "blank", "none"])
def test_other_histories_are_untouched(fmt, texts):
    body = body_of(fmt, texts)
    assert run(fmt, copy.deepcopy(body)) == body


def test_tool_call_turns_without_text_break_the_run():
    body = body_of("openai", ["A", "A"])
    body["messages"][-1:-1] = [{"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function",
                                                                                       "function": {"name": "f"}}]},
                               {"role": "tool", "tool_call_id": "c", "content": "ok"},
                               {"role": "assistant", "content": "A"}]
    assert run("openai", copy.deepcopy(body)) == body


def test_openai_content_parts_and_anthropic_tool_use_blocks_read_as_their_text():
    body = body_of("anthropic", ["A", "A"])
    body["messages"].extend([{"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hmm", "signature": ""}, {"type": "text", "text": "A"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}]}, user_turn("anthropic")])
    assert run("anthropic", body)["messages"][-1] == EXPECTED_REMINDER["anthropic"]
    chat = body_of("openai", ["A", "A"])
    chat["messages"].insert(-1, {"role": "assistant", "content": [{"type": "text", "text": "A"}]})
    assert run("openai", chat)["messages"][-1] == EXPECTED_REMINDER["openai"]


def test_gemini_thought_parts_do_not_count_as_the_answer():
    body = body_of("gemini", ["A", "A"])
    body["contents"].insert(-1, {"role": "model", "parts": [{"text": "different musing", "thought": True},
                                                            {"text": "A"}]})
    assert run("gemini", body)["contents"][-1] == EXPECTED_REMINDER["gemini"]


def test_responses_easy_input_messages_count_and_other_items_are_skipped():
    body = {"model": "m", "input": [{"role": "assistant", "content": "A"},
                                    {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
                                    {"type": "function_call_output", "call_id": "c", "output": "ok"},
                                    {"role": "assistant", "content": "A"},
                                    {"type": "reasoning", "summary": []},
                                    {"type": "message", "role": "assistant", "content": [
                                        {"type": "output_text", "text": "A"}]}]}
    assert run("openai_responses", body)["input"][-1] == EXPECTED_REMINDER["openai_responses"]


def test_a_responses_string_input_is_untouched():
    assert run("openai_responses", {"model": "m", "input": "hello"}) == {"model": "m", "input": "hello"}


def test_the_dialect_comes_from_x_format_not_from_the_body():
    body = body_of("openai", ["A", "A", "A"])
    for fmt in ("gemini", "openai_responses", "cohere", None):
        assert run(fmt, copy.deepcopy(body)) == body


def test_each_request_gets_its_own_reminder_object():
    first, second = run("anthropic", body_of("anthropic", "AAA")), run("anthropic", body_of("anthropic", "AAA"))
    assert first["messages"][-1] == second["messages"][-1]
    assert first["messages"][-1] is not second["messages"][-1]
    assert first["messages"][-1]["content"] is not second["messages"][-1]["content"]
