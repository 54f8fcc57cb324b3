"""Finding tagged blocks in text a chat UI or an LLM wrote: ``<user_query>…</user_query>``, ``<think>…</think>``."""

from __future__ import annotations

import re


def between(text: str, opening: str, closing: str) -> list[str]:
    """The stripped texts between each ``opening`` and the next ``closing`` (case-insensitive), found in one pass."""
    opening_tag, closing_tag = re.compile(re.escape(opening), re.I), re.compile(re.escape(closing), re.I)
    found: list[str] = []
    position = 0
    while (start := opening_tag.search(text, position)) and (end := closing_tag.search(text, start.end())):
        found.append(text[start.end() : end.start()].strip())
        position = end.end()
    return found


def without_thinking(text: str) -> str:
    """``text`` with every ``<think>…</think>`` block removed (an unclosed one runs to the end)."""
    kept: list[str] = []
    position = 0
    while (start := text.find("<think>", position)) >= 0:
        kept.append(text[position:start])
        end = text.find("</think>", start)
        position = len(text) if end < 0 else end + len("</think>")
    kept.append(text[position:])
    return "".join(kept)
