"""Reading the rewriting LLM's answer: where the thinking ends and the prompt begins, and tidying the prompt.

Reasoning models answer in one of two shapes: the thinking inline in
``content`` as ``<think>…</think>`` followed by the prompt, or the thinking in
a separate ``reasoning_content`` (or ``reasoning``) field with ``content`` the
prompt alone. An unclosed ``<think>`` or an empty prompt means the attempt
failed (the model ran out of tokens while thinking, or said nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN, CLOSE = "<think>", "</think>"
MAX_WORDS = 50
LABEL = re.compile(
    r"^\s*(?:\*\*\s*)?(?:(?:image|final|revised|rewritten)\s+)?prompt\s*(?:\*\*\s*)?[:：]\s*(?:\*\*)?", re.I
)
FENCE = re.compile(r"^```[a-z]*\s*|(?<!\s)\s*```$")
QUOTES = "\"'`“”‘’«»「」『』"


class UnusableReply(Exception):
    """This attempt's answer holds no prompt (unclosed thinking, or nothing at all)."""


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A rewritten prompt, and the thinking that led to it (empty in fast mode)."""

    prompt: str
    reasoning: str = ""


def parse_reply(content: str | None, reasoning: str | None = None) -> Rewrite:
    """The prompt (and thinking) in one LLM answer; UnusableReply when there is none."""
    content = content or ""
    thinking = (reasoning or "").strip()
    if CLOSE in content:
        before, _, after = content.rpartition(CLOSE)
        inline = before.split(OPEN, 1)[-1].strip()
        thinking = "\n".join(part for part in (thinking, inline) if part)
        content = after
    elif OPEN in content:
        raise UnusableReply("the model's thinking never closed (</think> is missing)")
    prompt = clean_prompt(content)
    if not prompt:
        raise UnusableReply("the model's answer holds no prompt")
    return Rewrite(prompt, thinking)


def clean_prompt(text: str) -> str:
    """One line, without wrapping quotes, code fences or a "Prompt:" label, at most MAX_WORDS words."""
    text = FENCE.sub("", text.strip())
    text = LABEL.sub("", text)
    text = " ".join(text.split())
    while len(text) >= 2 and text[0] in QUOTES and text[-1] in QUOTES:
        text = text[1:-1].strip()
    text = LABEL.sub("", text).strip()
    words = text.split(" ")
    if len(words) > MAX_WORDS:
        text = " ".join(words[:MAX_WORDS]).rstrip(",;:-–— ")
    return text


class ThinkSplitter:
    """Splits streamed ``content`` into thinking (inside ``<think>…</think>``) and answer, as chunks arrive.

    A tag may be cut across chunks, so a few characters that could be the start
    of one are held back until the next chunk decides.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._thinking = False
        self._started = False

    def feed(self, chunk: str) -> tuple[str, str]:
        """(thinking, answer) text that is certain so far."""
        text = self._pending + chunk
        self._pending = ""
        thinking: list[str] = []
        answer: list[str] = []
        while text:
            if not self._started:
                stripped = text.lstrip()
                if not stripped:
                    self._pending = text
                    return "", ""
                if stripped.startswith(OPEN):
                    self._thinking, self._started = True, True
                    text = stripped[len(OPEN) :]
                    continue
                if OPEN.startswith(stripped):
                    self._pending = text
                    return "", ""
                self._started = True
            tag = CLOSE if self._thinking else OPEN
            index = text.find(tag)
            if index >= 0:
                (thinking if self._thinking else answer).append(text[:index])
                self._thinking = not self._thinking
                text = text[index + len(tag) :]
                continue
            keep = _partial_tag_length(text, tag)
            (thinking if self._thinking else answer).append(text[: len(text) - keep])
            self._pending = text[len(text) - keep :]
            break
        return "".join(thinking), "".join(answer)

    def finish(self) -> tuple[str, str]:
        """Whatever was held back, once the stream has ended."""
        rest, self._pending = self._pending, ""
        return (rest, "") if self._thinking else ("", rest)

    @property
    def unclosed(self) -> bool:
        return self._thinking


def _partial_tag_length(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the beginning of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
