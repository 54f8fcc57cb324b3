"""The housekeeping prompts chat UIs send to the selected model, answered with text instead of an image.

Open WebUI asks for a title, tags, follow-up questions, search queries or an
autocompletion with ``### Task:`` prompts and parses the JSON it asked for;
NextChat asks for a four-to-five word topic and a short summary; LobeChat sends
a "conversation summarizer" system prompt for the topic title and a "key
takeaways" one for history compression. None of these should cost a picture.

Each is answered in the shape the UI asked for, built from the last picture
idea: through the rewriting LLM when one is configured (its answer is used
only if it has that shape), else locally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from gateway.prompt import parse_prompt
from gateway.rewrite import PromptRewriter
from gateway.schemas import ChatMessage
from gateway.tags import between, without_thinking

log = structlog.get_logger("gateway.side_requests")

Kind = Literal["title", "tags", "follow_ups", "queries", "autocomplete", "image_prompt", "summary", "emoji", "value"]
Shape = Literal["json", "text"]

# Written to run in time linear in the message: no two repeats side by side that could trade white space.
OPEN_WEBUI_TASK = re.compile(r"^[ \t]*#{2,3}[ \t]*Task[ \t]*:", re.MULTILINE)
JSON_KEY = re.compile(r"""(?:JSON format|json)\s*(?::\s*)?(?:`\s*)?\{\s*["'](?P<key>[A-Za-z_]+)["']""", re.IGNORECASE)
OPEN_WEBUI_KINDS: dict[str, Kind] = {
    "title": "title",
    "tags": "tags",
    "follow_ups": "follow_ups",
    "queries": "queries",
    "text": "autocomplete",
    "prompt": "image_prompt",
}


@dataclass(frozen=True, slots=True)
class Marker:
    """A UI's side request: a pattern on one message's text, what it asks for, and in which shape."""

    source: str
    pattern: re.Pattern[str]
    kind: Kind
    shape: Shape
    where: Literal["last", "system"] = "last"


def _marker(source: str, pattern: str, kind: Kind, shape: Shape = "text", where: str = "last") -> Marker:
    return Marker(source, re.compile(pattern, re.IGNORECASE), kind, shape, "system" if where == "system" else "last")


DEFAULT_MARKERS: tuple[Marker, ...] = (
    # Open WebUI before ### Task: templates (plain-text answers).
    _marker("open-webui", r"Create a concise, 3-5 word (?:phrase|title)", "title"),
    _marker("open-webui", r"reflect the speaker's likely facial expression through a fitting emoji", "emoji"),
    # NextChat (ChatGPTNextWeb), app/locales: Store.Prompt.Topic and .Summarize, English and Chinese.
    _marker("nextchat", r"generate a four to five word title summarizing our conversation", "title"),
    _marker("nextchat", r"使用四到五个字直接返回这句话的简要主题", "title"),
    _marker("nextchat", r"Summarize the discussion briefly in 200 words or less", "summary"),
    _marker("nextchat", r"简要总结一下对话内容，用作后续的上下文提示", "summary"),
    # LobeChat chains: summaryTitle (several generations of it) and summaryHistory; the system message says which.
    _marker("lobechat", r"single \"title\" string", "title", "json", "system"),
    _marker("lobechat", r"You are a professional conversation summarizer", "title", "text", "system"),
    _marker("lobechat", r"Summarize the conversation into a title", "title", "text", "system"),
    _marker("lobechat", r"summarize user conversations into titles", "title", "text", "system"),
    _marker("lobechat", r"你需要将用户的会话总结为", "title", "text", "system"),
    _marker("lobechat", r"single \"summary\" string", "summary", "json", "system"),
    _marker(
        "lobechat",
        r"good at extracting key takeaways(?: and important pieces of data)? from conversations",
        "summary",
        "text",
        "system",
    ),
)

HISTORY_USER_LINE = re.compile(r"^[ \t]*(?:USER|user|Human|human)[ \t]*:[ \t]*(?P<text>.+)$", re.MULTILINE)
MARKDOWN_IMAGE = re.compile(r"!\[[^\][]*\]\([^)(]*\)")
FENCE = re.compile(r"^```(?:json)?\s*|(?<!\s)\s*```$")
SCANNED_CHARS = 32_000
"""How much of a message is read: the UIs' markers come first, and the history they quote is read from its end."""
TITLE_WORDS = 5
TRAILING_WORDS = frozenset(
    {"a", "an", "the", "in", "on", "at", "of", "with", "and", "by", "for", "to", "under", "over"}
)
CJK_TITLE_CHARS = 10
FALLBACK_IDEA = "Image generation"


@dataclass(frozen=True, slots=True)
class SideRequest:
    source: str
    kind: Kind
    shape: Shape
    text: str
    """The last message (the side request itself, or the history it quotes)."""
    json_key: str | None = None


class SideRequests:
    def __init__(
        self,
        *,
        enabled: bool,
        extra_patterns: Sequence[str],
        ratios: dict[str, tuple[int, int]],
        default_size: tuple[int, int],
        rewriter: PromptRewriter | None,
    ) -> None:
        self._enabled = enabled
        extra = tuple(_marker("custom", pattern, "title") for pattern in extra_patterns)
        self._markers = DEFAULT_MARKERS + extra
        self._ratios = ratios
        self._default_size = default_size
        self._rewriter = rewriter

    def recognise(self, messages: Sequence[ChatMessage]) -> SideRequest | None:
        """The side request these messages are, or None for a picture idea."""
        if not self._enabled or not messages:
            return None
        last = messages[-1].text()[:SCANNED_CHARS]
        if OPEN_WEBUI_TASK.search(last):
            key = JSON_KEY.search(last)
            json_key = key["key"] if key else "title"
            kind = OPEN_WEBUI_KINDS.get(json_key, "value")
            return SideRequest("open-webui", kind, "json", last, json_key)
        system = "\n".join(message.text() for message in messages if message.role == "system")[:SCANNED_CHARS]
        for marker in self._markers:
            text = last if marker.where == "last" else system
            if text and marker.pattern.search(text):
                json_key = marker.kind if marker.shape == "json" else None
                return SideRequest(marker.source, marker.kind, marker.shape, last, json_key)
        return None

    async def answer(self, side: SideRequest, messages: Sequence[ChatMessage]) -> str:
        """The reply text: the LLM's when it has the asked shape, else one built here from the last idea."""
        log.info("side_request.answered", source=side.source, kind=side.kind, shape=side.shape)
        if self._rewriter is not None:
            asked = [{"role": message.role, "content": message.text()} for message in messages]
            reply = await self._rewriter.ask(asked)
            usable = _in_shape(reply, side) if reply else None
            if usable is not None:
                return usable
            log.info("side_request.llm_unusable", kind=side.kind)
        return local_answer(side, self.last_idea(side, messages))

    def last_idea(self, side: SideRequest, messages: Sequence[ChatMessage]) -> str:
        """The last picture idea: from the history the side request quotes, else the last other user message."""
        quoted = [m["text"] for m in HISTORY_USER_LINE.finditer(side.text)] + between(side.text, "<user>", "</user>")
        earlier = [m.text() for m in messages if m.role == "user" and m.text() != side.text]
        for candidate in reversed(quoted or earlier):
            idea = self._clean(candidate)
            if idea:
                return idea
        return FALLBACK_IDEA

    def _clean(self, text: str) -> str:
        text = MARKDOWN_IMAGE.sub(" ", text)
        return parse_prompt(text, self._ratios, self._default_size).text


def local_answer(side: SideRequest, idea: str) -> str:
    """A reply built without any model, in the shape the UI asked for."""
    values: dict[Kind, Callable[[], Any]] = {
        "title": lambda: title_of(idea, emoji=side.source == "open-webui"),
        "tags": lambda: ["Art", "Image Generation"],
        "follow_ups": lambda: [
            "Make it a watercolor painting",
            "Show the same scene at night",
            "Give me a 16:9 widescreen version",
        ],
        "queries": list,
        "autocomplete": str,
        "image_prompt": lambda: idea,
        "summary": lambda: f"The user is generating images. The latest picture idea: {idea}",
        "emoji": lambda: "🎨",
        "value": lambda: idea,
    }
    value = values[side.kind]()
    if side.shape == "text":
        return value if isinstance(value, str) else ", ".join(value)
    return json.dumps({side.json_key or side.kind: value}, ensure_ascii=False)


def title_of(idea: str, *, emoji: bool = False) -> str:
    """A short title from an idea: its first words (or characters, for scripts written without spaces)."""
    words = idea.split()
    unspaced = len(words) == 1 and len(idea) > CJK_TITLE_CHARS
    if unspaced:
        title = idea[:CJK_TITLE_CHARS]
    else:
        kept = [word.strip(",.;:!?\"'") for word in words[:TITLE_WORDS]]
        while len(kept) > 1 and kept[-1].lower() in TRAILING_WORDS:
            kept.pop()
        title = " ".join(kept)
    title = title.strip(" ,.;:!?\"'") or FALLBACK_IDEA
    title = title[0].upper() + title[1:]
    return f"🎨 {title}" if emoji else title


def _in_shape(reply: str, side: SideRequest) -> str | None:
    """The LLM's reply if it is what the UI asked for (the JSON object with its key), else None."""
    text = without_thinking(reply).strip()
    if side.shape == "text":
        return text or None
    try:
        value = json.loads(FENCE.sub("", text))
    except (ValueError, RecursionError):  # not JSON, a number past int's digit limit, or nested too deep
        return None
    key = side.json_key or side.kind
    if not isinstance(value, dict) or key not in value:
        return None
    return json.dumps(value, ensure_ascii=False)
