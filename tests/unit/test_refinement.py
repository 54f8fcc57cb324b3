"""Where a follow-up message is a change, a repeat or a new picture, and how a change is merged without an LLM."""

from __future__ import annotations

import pytest

from gateway.refinement import merge, read_message, reshaped

PREVIOUS = "a ginger fox in the snow, photograph, golden hour light, calm mood"


@pytest.mark.parametrize(
    ("text", "kind", "change"),
    [
        pytest.param("make it a watercolor painting", "refine", "make it a watercolor painting", id="suggestion-style"),
        pytest.param("Show the same scene at night", "refine", "Show the same scene at night", id="suggestion-night"),
        pytest.param("now make it at night", "refine", "make it at night", id="typed-now"),
        pytest.param("add a hat", "refine", "add a hat", id="add"),
        pytest.param("without the boat", "refine", "without the boat", id="negation"),
        pytest.param("ok thanks, now without the boat!", "refine", "without the boat", id="courtesy-first"),
        pytest.param("watercolor", "refine", "watercolor", id="one-word-style"),
        pytest.param("cyberpunk style", "refine", "cyberpunk style", id="short-style"),
        pytest.param("a hat on it", "refine", "a hat on it", id="article-but-points-back"),
        pytest.param("a watercolor version", "refine", "a watercolor version", id="version"),
        pytest.param("给它加一顶帽子", "refine", "给它加一顶帽子", id="chinese-change"),
        pytest.param("again", "again", "", id="again"),
        pytest.param("another one", "again", "", id="another-one"),
        pytest.param("Regenerate please", "again", "", id="regenerate"),
        pytest.param("再来一张", "again", "", id="chinese-again"),
        pytest.param("a dog on the moon", "new", "a dog on the moon", id="article"),
        pytest.param("draw a cat", "new", "draw a cat", id="drawing-verb"),
        pytest.param("generate an image of a lighthouse", "new", "generate an image of a lighthouse", id="image-of"),
        pytest.param("画一只猫", "new", "画一只猫", id="chinese-new"),
        pytest.param(
            "A majestic lighthouse standing on a rocky cliff above stormy seas",
            "new",
            "A majestic lighthouse standing on a rocky cliff above stormy seas",
            id="full-description",
        ),
        pytest.param(
            "a dog that is running through a field while it rains",
            "new",
            "a dog that is running through a field while it rains",
            id="late-it-is-not-a-pointer",
        ),
    ],
)
def test_a_follow_up_is_read_as_change_repeat_or_new(text: str, kind: str, change: str) -> None:
    reading = read_message(text, has_previous=True, sized=False)
    assert (reading.kind, reading.change) == (kind, change)
    assert reading.reason


def test_every_message_is_new_without_an_earlier_picture() -> None:
    assert read_message("make it a watercolor", has_previous=False, sized=False).kind == "new"


def test_a_size_alone_keeps_the_prompt_and_changes_the_size() -> None:
    reading = read_message("", has_previous=True, sized=True)
    assert (reading.kind, reading.change, reading.reason) == ("refine", "", "size only")


@pytest.mark.parametrize(
    ("text", "shape"),
    [("wider", "wider"), ("same but wider", "wider"), ("Make it taller", "taller"), ("square please", "square")],
)
def test_shape_words_alone_reshape_the_previous_picture(text: str, shape: str) -> None:
    reading = read_message(text, has_previous=True, sized=False)
    assert (reading.kind, reading.change, reading.shape) == ("refine", "", shape)


def test_a_repeat_word_with_a_change_is_a_change_with_a_new_seed() -> None:
    reading = read_message("another one but at night", has_previous=True, sized=False)
    assert (reading.kind, reading.change, reading.fresh_seed) == ("refine", "at night", True)


@pytest.mark.parametrize(
    ("change", "merged"),
    [
        pytest.param(
            "make it a watercolor painting",
            "a ginger fox in the snow, golden hour light, calm mood, a watercolor painting",
            id="a-new-medium-replaces-the-old",
        ),
        pytest.param(
            "Show the same scene at night",
            "a ginger fox in the snow, photograph, calm mood, at night",
            id="a-new-time-replaces-the-old",
        ),
        pytest.param(
            "add a red scarf", "a ginger fox in the snow, photograph, golden hour light, calm mood, with a red scarf"
        ),
        pytest.param("without the snow", "a ginger fox, photograph, golden hour light, calm mood", id="negation"),
        pytest.param("", PREVIOUS, id="nothing-to-change"),
    ],
)
def test_a_change_is_merged_into_the_previous_prompt(change: str, merged: str) -> None:
    assert merge(PREVIOUS, change) == merged


def test_removing_a_thing_drops_its_phrase_and_keeps_the_rest() -> None:
    previous = "a lake at sunset with a small wooden boat, oil painting"
    assert merge(previous, "without the boat") == "a lake at sunset, oil painting"
    assert merge(previous, "no boats") == "a lake at sunset, oil painting"


@pytest.mark.parametrize(
    ("size", "shape", "ratio"),
    [((1024, 1024), "wider", "4:3"), ((1024, 576), "wider", "21:9"), ((1024, 576), "taller", "3:2"),
     ((1024, 1024), "taller", "3:4"), ((576, 1024), "square", "1:1")],
)  # fmt: skip
def test_a_shape_word_moves_one_step_from_the_previous_ratio(size: tuple[int, int], shape: str, ratio: str) -> None:
    assert reshaped(*size, shape) == ratio  # type: ignore[arg-type]
