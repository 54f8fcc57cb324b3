"""Reading the rewriting LLM's answers, and what it is asked."""

from __future__ import annotations

import pytest

from config.settings import SEED_ASPECT_RATIOS
from gateway.prompt import parse_prompt
from gateway.rewrite.instructions import EXAMPLES, FAST, REASONING, conversation
from gateway.rewrite.reply import MAX_WORDS, Rewrite, ThinkSplitter, UnusableReply, clean_prompt, parse_reply


def test_the_prompt_is_what_follows_the_closing_think_tag() -> None:
    reply = "<think>A fox in snow; a photograph fits.\nKeep it calm.</think>\n\na red fox in fresh snow, photograph"
    assert parse_reply(reply) == Rewrite(
        "a red fox in fresh snow, photograph", "A fox in snow; a photograph fits.\nKeep it calm."
    )


def test_without_tags_the_content_is_the_prompt() -> None:
    assert parse_reply("a red fox in fresh snow, photograph") == Rewrite("a red fox in fresh snow, photograph")


def test_a_separate_reasoning_field_leaves_the_content_as_the_prompt() -> None:
    assert parse_reply("a lighthouse in a storm, oil painting", "Storm, sea, drama.") == Rewrite(
        "a lighthouse in a storm, oil painting", "Storm, sea, drama."
    )


@pytest.mark.parametrize(
    "reply",
    [
        "<think>Thinking about the fox and the snow and the light and",  # ran out of tokens mid-thought
        "",
        "   \n ",
        '""',
        "<think>planned</think>\n",  # thought, then said nothing
        "Prompt:",
    ],
)
def test_unclosed_thinking_or_an_empty_prompt_fails_the_attempt(reply: str) -> None:
    with pytest.raises(UnusableReply):
        parse_reply(reply)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('"a red fox, snow"', "a red fox, snow"),
        ("“a red fox, snow”", "a red fox, snow"),
        ("Prompt: a red fox, snow", "a red fox, snow"),
        ("**Prompt:** a red fox, snow", "a red fox, snow"),
        ('Image prompt: "a red fox, snow"', "a red fox, snow"),
        ("a red fox,\nsnow,\n\nwinter light", "a red fox, snow, winter light"),
        ("```\na red fox, snow\n```", "a red fox, snow"),
    ],
)
def test_quotes_labels_fences_and_newlines_are_stripped(raw: str, clean: str) -> None:
    assert clean_prompt(raw) == clean


def test_over_long_output_is_cut_to_fifty_words() -> None:
    reply = ", ".join(f"detail{n}" for n in range(120))
    prompt = parse_reply(f"<think>lots</think>{reply}").prompt
    assert len(prompt.split()) == MAX_WORDS
    assert prompt.startswith("detail0, detail1,")
    assert not prompt.endswith(",")


def test_thinking_split_across_stream_chunks_is_separated_from_the_answer() -> None:
    splitter = ThinkSplitter()
    pieces = [splitter.feed(chunk) for chunk in ["  <th", "ink>Fox", " in sn", "ow.</thi", "nk>\na red", " fox"]]
    pieces.append(splitter.finish())
    thinking = "".join(t for t, _ in pieces)
    answer = "".join(a for _, a in pieces)
    assert thinking == "Fox in snow."
    assert answer.strip() == "a red fox"
    assert not splitter.unclosed


def test_a_stream_that_ends_inside_thinking_is_unclosed() -> None:
    splitter = ThinkSplitter()
    splitter.feed("<think>still going")
    assert splitter.unclosed


def test_a_stream_without_tags_is_all_answer() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("a red fox, <b>snow</b>") == ("", "a red fox, <b>snow</b>")


def test_raw_prefix_marks_the_prompt_verbatim_and_keeps_the_size() -> None:
    parsed = parse_prompt("raw: 一只在雪地里的红狐狸 16:9", SEED_ASPECT_RATIOS, (1024, 1024))
    assert parsed.verbatim
    assert parsed.text == "一只在雪地里的红狐狸"
    assert (parsed.width, parsed.height) == (1024, 576)
    assert not parse_prompt("a raw: steak", SEED_ASPECT_RATIOS, (1024, 1024)).verbatim


def test_both_modes_send_the_rules_the_examples_and_then_the_idea() -> None:
    fast = conversation("fast", "a cat on a roof")
    reasoning = conversation("reasoning", "a cat on a roof")
    assert fast[0] == {"role": "system", "content": FAST}
    assert reasoning[0] == {"role": "system", "content": REASONING}
    assert fast[-1] == reasoning[-1] == {"role": "user", "content": "a cat on a roof"}
    assert len(fast) == len(reasoning) == 2 + 2 * len(EXAMPLES)
    answers = [m["content"] for m in fast if m["role"] == "assistant"]
    thought = [m["content"] for m in reasoning if m["role"] == "assistant"]
    assert all("<think>" not in answer for answer in answers)
    assert all(answer.startswith("<think>") and "</think>" in answer for answer in thought)
    for _, _, prompt in EXAMPLES:  # the examples practise what the rules preach
        assert 30 <= len(prompt.split()) <= MAX_WORDS
