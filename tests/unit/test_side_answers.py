"""Titles, tags and suggestions built without an LLM follow what the UI's prompt asked for."""

from __future__ import annotations

import pytest

from gateway.side_answers import follow_ups_for, image_note_answer, subject_of, tags_of, title_of, word_limit


@pytest.mark.parametrize(
    ("instructions", "limit"),
    [
        ("Keep it short: 2-4 words is best.", 4),
        ("Generate a concise, 3-5 word title with an emoji", 5),
        ("Please generate a four to five word title summarizing our conversation", 5),
        ("Provide a concise, 5-word-or-less title for the conversation", 5),
        ("Summarize the conversation into a title in en-us within 10 words", 5),
        ("Name this chat", 5),
    ],
)
def test_the_word_limit_is_read_from_the_prompt(instructions: str, limit: int) -> None:
    assert word_limit(instructions) == limit


def test_the_subject_loses_the_request_around_it() -> None:
    assert subject_of("Please draw a very detailed red fox in the snow") == "red fox in the snow"
    assert subject_of("generate an image of a lighthouse at dawn") == "lighthouse at dawn"
    assert subject_of("一只猫坐在屋顶上") == "一只猫坐在屋顶上"


@pytest.mark.parametrize(
    ("instructions", "title"),
    [
        pytest.param("Keep it short: 2-4 words is best.\n- Do not use emojis", "Red fox", id="open-webui-0.12"),
        pytest.param("a concise, 3-5 word title with an emoji", "🎨 Red fox in the snow", id="open-webui-0.6"),
        pytest.param("5-word-or-less title, using title case conventions", "Red Fox in the Snow", id="librechat"),
    ],
)
def test_titles_follow_the_prompts_rules(instructions: str, title: str) -> None:
    assert title_of("please draw a red fox in the snow", instructions) == title


def test_tags_name_the_style_subject_and_setting() -> None:
    assert tags_of("a red fox in the snow", "a red fox in fresh snow, watercolor, soft light") == [
        "Art",
        "Watercolor",
        "Red fox",
        "Snow",
    ]


def test_suggestions_change_what_the_picture_is_not_yet() -> None:
    assert follow_ups_for("a fox at night, watercolor", wide=False, asked=["Make it an oil painting"]) == [
        "Make it a pencil sketch",
        "Show the same scene at sunrise",
        "Give me a 16:9 widescreen version",
    ]


def test_an_image_tool_note_gets_a_matching_sentence() -> None:
    assert image_note_answer("<context>Image generation was attempted but failed because of an error. "
                             "Tell the user that the following error occurred: 429 slow down</context>") == (
        "The picture could not be made: 429 slow down"
    )  # fmt: skip
