"""Does every function that reads user (or vendor) text take time linear in it?

Each function runs on inputs built from short "atoms" repeated to 4,000 and to
16,000 characters, in a few shapes (alone, wrapped in text, after a size
directive, before a ratio, before a non-breaking space). Linear work takes
about 4x as long on the longer input; a quadratic pattern about 16x. Rows that
grow more than 6x and take over 20 ms are printed; none should be.

    python bench/text_scaling.py
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from config.settings import SEED_ASPECT_RATIOS
from gateway.chat_markdown import ANY_IMAGE, pictures_in
from gateway.conversation import read_brief, user_words
from gateway.prompt import parse_prompt
from gateway.refinement import merge, read_message
from gateway.rewrite.reply import clean_prompt, parse_reply
from gateway.schemas import ChatMessage
from gateway.side_requests import SideRequest, SideRequests, _in_shape
from providers.chat import links_in_text

SHORT, LONG = 4_000, 16_000
GROWTH_LIMIT = 6.0
ATOMS = [
    *[" ", "\t", "\n", "\r\n", "a", "A", "1", ":", ",", ", ", " ,", " .", "x ", "x\u3000", "12:", "1:1:1"],
    *["16:9 ", "10:30 ", "at 16:9 ", "(16:9 ", "--ar ", "--ar", "aspect ratio", "1024x", "**", "prompt: "],
    *["![", "[", "](", "(", "![a](", "![x](http://", "data:image/png;base64,", "```", "```json"],
    *[
        "<user>",
        "</user>",
        "<USER>",
        "USER: ",
        "USER: a\n",
        "user:",
        "json {",
        'JSON format: {"',
        "### Task:",
        "<think>",
    ],
    *['![a](h "', '![a](h "1024x576, seed ', "\\[", "\\", "</context>", "<user_query>", "ASSISTANT:", '"mainText":"'],
    *["make it ", "without the ", "with a ", "again ", "another ", "wider ", "it ", "的", "再来"],
]
SIDE_REQUESTS = SideRequests(
    enabled=True, extra_patterns=[], ratios=SEED_ASPECT_RATIOS, default_size=(1024, 1024), rewriter=None
)


def or_nothing(reader: Callable[[str], object]) -> Callable[[str], object]:
    """``reader``, with a refusal (an unusable reply, an empty prompt) counted as an answer: only the time counts."""

    def read(text: str) -> object:
        try:
            return reader(text)
        except Exception:
            return None

    return read


def brief_of(text: str) -> object:
    messages = [ChatMessage(role="assistant", content=text), ChatMessage(role="user", content=text)]
    return read_brief(messages, SEED_ASPECT_RATIOS, (1024, 1024))


def readers() -> dict[str, Callable[[str], object]]:
    def message(text: str) -> list[ChatMessage]:
        return [ChatMessage(role="user", content=text)]

    return {
        "parse_prompt": lambda text: parse_prompt(text, SEED_ASPECT_RATIOS, (1024, 1024)),
        "clean_prompt": clean_prompt,
        "parse_reply": or_nothing(parse_reply),
        "links_in_text": links_in_text,
        "side_requests.recognise": lambda text: SIDE_REQUESTS.recognise(message(text)),
        "side_requests.last_idea": lambda text: SIDE_REQUESTS.last_idea(
            SideRequest("bench", "title", "text", text), message(text)
        ),
        "side_requests.in_shape": lambda text: _in_shape(text, SideRequest("bench", "title", "json", text, "title")),
        "side_requests.local_answer": lambda text: SIDE_REQUESTS.local_answer(
            SideRequest("bench", "follow_ups", "json", text, "follow_ups"), message(text)
        ),
        "chat_markdown.pictures_in": pictures_in,
        "chat_markdown.any_image": ANY_IMAGE.findall,
        "conversation.user_words": user_words,
        "conversation.read_brief": or_nothing(brief_of),
        "refinement.read_message": lambda text: read_message(text, has_previous=True, sized=False),
        "refinement.merge": lambda text: merge(text, f"without {text}"),
    }


def shapes(atom: str, length: int) -> list[str]:
    body = atom * (length // len(atom))
    return [body, f"x{body}x", f"--ar{body}", f"a cat{body}16:9", f"{body}\u00a0z"]


def seconds(reader: Callable[[str], object], text: str) -> float:
    started = time.perf_counter()
    reader(text)
    return time.perf_counter() - started


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    flagged = 0
    checked = 0
    for name, reader in readers().items():
        for atom in ATOMS:
            for shape, (short, long) in enumerate(zip(shapes(atom, SHORT), shapes(atom, LONG), strict=True)):
                checked += 1
                short_time, long_time = seconds(reader, short), seconds(reader, long)
                growth = long_time / max(short_time, 1e-5)
                if long_time > 0.02 and growth > GROWTH_LIMIT:
                    flagged += 1
                    print(
                        f"{name}: atom {atom!r} shape {shape}: {long_time * 1000:.0f} ms, {growth:.1f}x for 4x the text"
                    )
    print(f"{checked} inputs through {len(readers())} readers; {flagged} grew faster than linear")


if __name__ == "__main__":
    main()
