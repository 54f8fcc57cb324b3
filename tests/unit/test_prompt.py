"""Reading the size out of a prompt."""

from __future__ import annotations

import pytest

from config.settings import SEED_ASPECT_RATIOS
from gateway.prompt import parse_prompt, size_for_ratio

DEFAULT = (1024, 1024)


def parse(text: str, ratios: dict[str, tuple[int, int]] = SEED_ASPECT_RATIOS) -> tuple[str, int, int]:
    parsed = parse_prompt(text, ratios, DEFAULT)
    return parsed.text, parsed.width, parsed.height


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("1:2", (512, 1024)),
        ("3:2", (768, 512)),
        ("3:4", (768, 1024)),
        ("16:9", (1024, 576)),
        ("9:16", (576, 1024)),
    ],
)
def test_the_seed_table_sets_the_size(ratio: str, size: tuple[int, int]) -> None:
    assert parse(f"a lighthouse in a storm {ratio}") == ("a lighthouse in a storm", *size)


def test_no_ratio_gives_the_default_size() -> None:
    assert parse("a lighthouse in a storm") == ("a lighthouse in a storm", 1024, 1024)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a fox 16：9", ("a fox", 1024, 576), id="full-width-colon"),
        pytest.param("a fox --ar 16:9", ("a fox", 1024, 576), id="midjourney-flag"),
        pytest.param("castle --ar 16:9 at dusk", ("castle at dusk", 1024, 576), id="flag-mid-sentence"),
        pytest.param("a cat, aspect ratio 3:4", ("a cat", 768, 1024), id="spelled-out"),
        pytest.param("a cat aspect ratio: 9:16", ("a cat", 576, 1024), id="spelled-out-with-colon"),
        pytest.param("(16:9) a boat", ("a boat", 1024, 576), id="bracketed-at-start"),
        pytest.param("a vase 3:2, oil painting", ("a vase, oil painting", 768, 512), id="mid-sentence-table"),
        pytest.param("city skyline 1280x720", ("city skyline", 1280, 720), id="explicit-size"),
        pytest.param("city skyline 1280×720px", ("city skyline", 1280, 720), id="explicit-size-times-sign"),
        pytest.param("a poster 4096x2048", ("a poster", 2048, 1024), id="explicit-size-too-large"),
        pytest.param("a fox 16 : 9", ("a fox", 1024, 576), id="spaces-around-colon"),
    ],
)
def test_grammar(text: str, expected: tuple[str, int, int]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "meet at 10:30 by the pier",
        "the pier at sunset 10:30",
        "a train leaving at 9:16 pm",
        "a clock showing 12:05",
        "the 7:45 bus to town",
        "a wall clock at 11:15, oil painting",
    ],
)
def test_clock_times_are_left_alone(text: str) -> None:
    assert parse(text) == (text, 1024, 1024)


def test_a_time_and_a_ratio_in_one_prompt() -> None:
    assert parse("a clock showing 12:45, 16:9") == ("a clock showing 12:45", 1024, 576)


@pytest.mark.parametrize("ratio", ["21:9", "2:1", "4:3", "5:4", "16:10"])
def test_ratios_outside_the_table_keep_about_a_megapixel_in_multiples_of_64(ratio: str) -> None:
    text, width, height = parse(f"a wide valley {ratio}")
    w, h = (int(x) for x in ratio.split(":"))
    assert text == "a wide valley"
    assert width % 64 == 0 and height % 64 == 0
    assert 0.8 < width * height / (1024 * 1024) < 1.2
    assert abs(width / height - w / h) < 0.12


def test_a_ratio_outside_the_table_mid_sentence_is_not_taken() -> None:
    assert parse("scores of 7:3 and more") == ("scores of 7:3 and more", 1024, 1024)


def test_a_settings_table_replaces_the_seed_table() -> None:
    assert parse("a fox 16:9", {"16:9": (1344, 768)}) == ("a fox", 1344, 768)
    assert size_for_ratio(16, 9, {}) == (1344, 768)


def test_only_the_recognised_text_is_removed() -> None:
    assert parse("Ein Fuchs im Schnee, 3:2 — watercolour!") == ("Ein Fuchs im Schnee, — watercolour!", 768, 512)


def test_a_prompt_that_is_only_a_ratio_is_left_empty() -> None:
    assert parse("16:9") == ("", 1024, 576)
