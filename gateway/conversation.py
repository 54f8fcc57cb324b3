"""A chat's message list read as a picture being made: what the last user message asks for, in the light of the
previous picture of the conversation.

The user's own words are taken out of the templates chat UIs wrap them in
(Open WebUI's retrieval and file templates), so an attached file never turns a
picture request into something else. The previous picture is read back from
the gateway's own earlier answer (``chat_markdown``); whether the new message
changes it, asks for it again or starts afresh is ``refinement``'s decision,
and the size carries over unless the message names one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from gateway.chat_markdown import ShownPicture, pictures_in
from gateway.errors import InvalidRequest
from gateway.image_options import MAX_TEXT
from gateway.pipeline import Basis
from gateway.prompt import ParsedPrompt, Size, parse_prompt, size_for_ratio
from gateway.refinement import Reading, read_message, reshaped
from gateway.schemas import ChatMessage
from gateway.tags import between

log = structlog.get_logger("gateway.conversation")

QUERY_TAGS = (("<raw_query>", "</raw_query>"), ("<user_query>", "</user_query>"))
APPENDED_CONTEXT = ("<!-- system context", "<knowledge_base_qa_info>")
CONTEXT_CLOSERS = ("</context>", "</attached_files>", "</files>", "</source>", "</sources>")


@dataclass(frozen=True, slots=True)
class Brief:
    """What one chat turn asks the pipeline for."""

    parsed: ParsedPrompt
    """The idea (new) or the change (refine; empty for again or a new size alone), at the size to draw."""
    basis: Basis | None
    """The previous picture, when the turn changes it or asks for it again."""
    reading: Reading
    previous: ShownPicture | None
    pictures: tuple[str, ...] = ()
    """Pictures attached to the last user message (data URIs or links): the turn is an edit of them."""


def read_brief(
    messages: Sequence[ChatMessage], ratios: Mapping[str, Size], default_size: Size, *, follow_ups: bool = True
) -> Brief:
    """The turn the last user message asks for; a 400 when there is none or it holds nothing to draw.

    With ``follow_ups`` off, every message is a new idea (the earlier turns are not read).
    """
    last = last_user_index(messages)
    words = user_words(messages[last].text())
    attached = tuple(messages[last].pictures())
    if len(words) > MAX_TEXT:
        raise InvalidRequest(f"the prompt is longer than {MAX_TEXT} characters", param="messages")
    parsed = parse_prompt(words, ratios, default_size)
    if attached:  # the attached picture is what changes, whatever came before
        log.info("conversation.turn", kind="edit", reason="a picture is attached", pictures=len(attached))
        return Brief(parsed, None, Reading("new", parsed.text, "a picture is attached"), None, attached)
    previous = previous_picture(messages[:last]) if follow_ups else None
    reading = read_message(parsed.text, has_previous=previous is not None, sized=parsed.sized)
    log.info("conversation.turn", kind=reading.kind, reason=reading.reason, follows=previous is not None)
    if previous is None or reading.kind == "new":
        if not parsed.text:
            raise InvalidRequest("the prompt is empty: describe the picture you want", param="messages")
        return Brief(parsed, None, reading, previous)
    width, height = _size(parsed, previous, reading, ratios)
    keep_seed = reading.kind == "refine" and not reading.fresh_seed
    basis = Basis(previous.prompt, previous.seed if keep_seed else None)
    change = ParsedPrompt(reading.change, width, height, parsed.ratio, parsed.verbatim, parsed.sized)
    return Brief(change, basis, reading, previous)


def last_user_index(messages: Sequence[ChatMessage]) -> int:
    if not messages:
        raise InvalidRequest("messages must hold at least one message", param="messages")
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    raise InvalidRequest("messages hold no user message to draw", param="messages")


def user_words(text: str) -> str:
    """The user's own words of a message, out of the retrieval or file template a chat UI may have wrapped them in.

    LobeChat appends its file and knowledge-base context after the words
    (``<!-- SYSTEM CONTEXT …``, ``<knowledge_base_qa_info>``, which repeats
    them in ``<raw_query>``); Open WebUI puts its retrieval template, the
    ``<context>`` and the ``<attached_files>`` list before them.
    """
    for opening, closing in QUERY_TAGS:
        queries = between(text, opening, closing)
        if queries and queries[-1]:
            return queries[-1]
    lowered = text.lower()
    appended = min((lowered.find(start) for start in APPENDED_CONTEXT if start in lowered), default=-1)
    if appended > 0 and text[:appended].strip():
        return text[:appended].strip()
    end = max((lowered.rfind(closer) + len(closer) for closer in CONTEXT_CLOSERS if closer in lowered), default=-1)
    return text[end:].strip() if end >= 0 else text.strip()


def previous_picture(history: Sequence[ChatMessage]) -> ShownPicture | None:
    """The first picture of the latest assistant answer that shows one (with its prompt), if any."""
    for message in reversed(history):
        if message.role != "assistant":
            continue
        shown = [picture for picture in pictures_in(message.text()) if picture.prompt]
        if shown:
            return shown[0]
    return None


def _size(parsed: ParsedPrompt, previous: ShownPicture, reading: Reading, ratios: Mapping[str, Size]) -> Size:
    """The words' size if they name one; else the previous picture's, in a new shape if one was asked for."""
    if parsed.sized:
        return parsed.width, parsed.height
    if previous.width is None or previous.height is None:
        return parsed.width, parsed.height
    if reading.shape is not None:
        width_part, _, height_part = reshaped(previous.width, previous.height, reading.shape).partition(":")
        return size_for_ratio(int(width_part), int(height_part), ratios)
    return previous.width, previous.height
