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

from gateway.chat_markdown import ANY_IMAGE, pictures_in
from gateway.conversation import user_words
from gateway.prompt import parse_prompt
from gateway.refinement import read_message
from gateway.rewrite import PromptRewriter
from gateway.schemas import ChatMessage
from gateway.side_answers import follow_ups_for, image_note_answer, merged_pictures, tags_of, title_of
from gateway.tags import between, without_thinking

log = structlog.get_logger("gateway.side_requests")

Kind = Literal[
    "title", "tags", "follow_ups", "queries", "autocomplete", "image_prompt", "summary", "emoji", "value", "merge",
    "image_note", "tool_calls", "rephrase", "translate", "memory",
]  # fmt: skip
Shape = Literal["json", "text"]
LOCAL_ONLY: frozenset[Kind] = frozenset({"merge", "tool_calls", "rephrase", "memory", "image_note"})
"""Answered here even with an LLM: a fixed answer is the right one (no search, no tools, no new picture)."""

# Written to run in time linear in the message: no two repeats side by side that could trade white space.
OPEN_WEBUI_TASK = re.compile(r"^[ \t]*#{2,3}[ \t]*Task[ \t]*:", re.MULTILINE)
JSON_KEY = re.compile(r"""(?:JSON format|json)\s*(?::\s*)?(?:`\s*)?\{\s*["'](?P<key>[A-Za-z_]+)["']""", re.IGNORECASE)
CHAT_HISTORY = "<chat_history>"
RETRIEVAL_TASK = "Respond to the user query using the provided context"
"""Open WebUI's retrieval (file) template also opens with ``### Task:``; it wraps a picture request."""
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
    json_key: str | None = None


def _marker(
    source: str, pattern: str, kind: Kind, shape: Shape = "text", where: str = "last", json_key: str | None = None
) -> Marker:
    place: Literal["last", "system"] = "system" if where == "system" else "last"
    key = json_key or (kind if shape == "json" else None)
    return Marker(source, re.compile(pattern, re.IGNORECASE), kind, shape, place, key)


DEFAULT_MARKERS: tuple[Marker, ...] = (
    # Open WebUI (backend/open_webui/config.py, utils/middleware.py, utils/context_compaction.py; 0.6 to 0.12.4).
    _marker("open-webui", r"Create a concise, 3-5 word (?:phrase|title)", "title"),
    _marker("open-webui", r"reflect the speaker's likely facial expression through a fitting emoji", "emoji"),
    _marker("open-webui", r"^You have been provided with a set of responses from various models", "merge"),
    _marker("open-webui", r"Summarize the conversation history that will be compacted", "summary"),
    _marker("open-webui", r"The requested image has been (?:edited and )?created", "image_note", where="system"),
    _marker("open-webui", r"Image generation was (?:attempted but failed|requested but the feature is currently "
            r"disabled)", "image_note", where="system"),
    _marker("open-webui", r"choose and return the correct tool\(s\) from the list of available tools", "tool_calls",
            "json", "system"),
    _marker("open-webui", r"You are Open WebUI's private memory reviewer", "memory", "json", "system", "operations"),
    # NextChat (ChatGPTNextWeb), app/locales: Store.Prompt.Topic and .Summarize, English and Chinese.
    _marker("nextchat", r"generate a four to five word title summarizing our conversation", "title"),
    _marker("nextchat", r"使用四到五个字直接返回这句话的简要主题", "title"),
    _marker("nextchat", r"Summarize the discussion briefly in 200 words or less", "summary"),
    _marker("nextchat", r"简要总结一下对话内容，用作后续的上下文提示", "summary"),
    # LobeChat chains (1.x and LobeHub v2): the system message says which.
    _marker("lobechat", r"single \"title\" string", "title", "json", "system"),
    _marker("lobechat", r"You are a professional conversation summarizer", "title", "text", "system"),
    _marker("lobechat", r"Summarize the conversation into a title", "title", "text", "system"),
    _marker("lobechat", r"summarize user conversations into titles", "title", "text", "system"),
    _marker("lobechat", r"你需要将用户的会话总结为", "title", "text", "system"),
    _marker("lobechat", r"根据用户提供的 AI .{0,12}prompt 总结出一个标题", "title", "text", "system"),
    _marker("lobechat", r"single \"summary\" string", "summary", "json", "system"),
    _marker("lobechat", r"good at extracting key takeaways(?: and important pieces of data)? from conversations",
            "summary", "text", "system"),
    _marker("lobechat", r"You are a conversation summarizer\. Your task is to create a concise summary", "summary",
            "text", "system"),
    _marker("lobechat", r"You are a summarization expert\. Generate a concise summary", "summary", "text", "system"),
    _marker("lobechat", r"You are a professional translator\. Translate the input text", "translate", "text", "system"),
    _marker("lobechat", r"rephrase the follow up question to be a standalone question", "translate", "text", "system"),
    _marker("lobechat", r"You are an emoji expert", "emoji", "text", "system"),
    _marker("lobechat", r"擅长会话标签总结的助理", "tags", "text", "system"),
    # LibreChat (@librechat/agents title.ts and run.ts; the older titlePrompts.js and summaryPrompts.js).
    _marker("librechat", r"^Provide a concise, 5-word-or-less title for the conversation", "title"),
    _marker("librechat", r"^Analyze this conversation and provide:\s*1\. The detected language", "title", "json"),
    _marker("librechat", r"Write a concise title for this conversation in the given language", "title", "text",
            "system"),
    _marker("librechat", r"Summarize the conversation by integrating new lines into the current summary", "summary",
            "text", "system"),
    _marker("librechat", r"^Hold on,? (?:again, update your checkpoint|before you continue I need you to write me "
            r"a checkpoint)", "summary"),
    # Cherry Studio (config/prompts.ts, TopicNamingService).
    _marker("cherry-studio", r"summarize the user's conversation into a title within 10 words", "title", "text",
            "system"),
    _marker("cherry-studio", r"You are an AI question rephraser", "rephrase", "text", "system"),
)  # fmt: skip

HISTORY_USER_LINE = re.compile(r"^[ \t]*(?:USER|User|user|Human|human)[ \t]*:[ \t]*(?P<text>.+)$", re.MULTILINE)
CHERRY_USER_TEXT = re.compile(r'"role"\s*:\s*"user"\s*,\s*"mainText"\s*:\s*"(?P<text>(?:\\.|[^"\\])*)"')
FENCE = re.compile(r"^```(?:json)?\s*|(?<!\s)\s*```$")
SCANNED_CHARS = 32_000
"""How much of a message is read: the UIs' markers come first, and the history they quote is read from its end."""
FALLBACK_IDEA = "Image generation"
REPHRASE_NOT_NEEDED = "<websearch>\n<question>\nnot_needed\n</question>\n</websearch>"


@dataclass(frozen=True, slots=True)
class SideRequest:
    source: str
    kind: Kind
    shape: Shape
    text: str
    """The last message (the side request itself, or the history it quotes)."""
    json_key: str | None = None
    instructions: str = ""
    """The UI's own prompt (the last message, or the system message that marked it), whose rules a title follows."""


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
        """The side request these messages are, or None for a picture idea (one wrapped in a file template too)."""
        if not self._enabled or not messages:
            return None
        last = messages[-1].text()[:SCANNED_CHARS]
        system = "\n".join(message.text() for message in messages if message.role == "system")[:SCANNED_CHARS]
        for marker in self._markers:
            text = last if marker.where == "last" else system
            if text and marker.pattern.search(text):
                return SideRequest(marker.source, marker.kind, marker.shape, last, marker.json_key, text)
        if OPEN_WEBUI_TASK.search(last) and RETRIEVAL_TASK not in last:
            key = JSON_KEY.search(last)
            if key is not None or CHAT_HISTORY in last:
                json_key = key["key"] if key else "title"
                return SideRequest("open-webui", OPEN_WEBUI_KINDS.get(json_key, "value"), "json", last, json_key, last)
        return None

    async def answer(self, side: SideRequest, messages: Sequence[ChatMessage]) -> str:
        """The reply text: the LLM's when it has the asked shape, else one built here from the conversation."""
        log.info("side_request.answered", source=side.source, kind=side.kind, shape=side.shape)
        if self._rewriter is not None and side.kind not in LOCAL_ONLY:
            asked = [{"role": message.role, "content": message.text()} for message in messages]
            reply = await self._rewriter.ask(asked)
            usable = _in_shape(reply, side) if reply else None
            if usable is not None:
                return usable
            log.info("side_request.llm_unusable", kind=side.kind)
        return self.local_answer(side, messages)

    def local_answer(self, side: SideRequest, messages: Sequence[ChatMessage]) -> str:
        """A reply built without any model, in the shape the UI asked for."""
        asked = self._user_texts(side, messages)
        idea = self.last_idea(side, messages)
        prompt = self._last_prompt(side, messages) or idea
        sizes = [parse_prompt(text, self._ratios, self._default_size) for text in asked]
        wide = any(size.sized and size.width > size.height for size in sizes)
        values: dict[Kind, Callable[[], Any]] = {
            "title": lambda: title_of(idea, side.instructions),
            "tags": lambda: tags_of(idea, prompt),
            "follow_ups": lambda: follow_ups_for(prompt, wide=wide, asked=asked),
            "queries": list,
            "autocomplete": str,
            "image_prompt": lambda: prompt,
            "summary": lambda: f"The user is making pictures. The latest picture: {prompt}",
            "emoji": lambda: "🎨",
            "value": lambda: idea,
            "merge": lambda: merged_pictures(ANY_IMAGE.findall(side.text)),
            "image_note": lambda: image_note_answer(side.instructions),
            "tool_calls": list,
            "rephrase": lambda: REPHRASE_NOT_NEEDED,
            "translate": lambda: messages[-1].text(),
            "memory": list,
        }
        value = values[side.kind]()
        if side.shape == "text":
            return value if isinstance(value, str) else ", ".join(value)
        return json.dumps({side.json_key or side.kind: value}, ensure_ascii=False)

    def last_idea(self, side: SideRequest, messages: Sequence[ChatMessage]) -> str:
        """The idea of the picture being made: the last quoted or earlier user message that starts one."""
        ideas = [idea for idea in (self._clean(text) for text in self._user_texts(side, messages)) if idea]
        for index in range(len(ideas) - 1, -1, -1):
            if read_message(ideas[index], has_previous=index > 0, sized=False).kind == "new":
                return ideas[index]
        return ideas[-1] if ideas else FALLBACK_IDEA

    @staticmethod
    def _user_texts(side: SideRequest, messages: Sequence[ChatMessage]) -> list[str]:
        """What the user wrote, in order: from the history the side request quotes, else the earlier messages."""
        quoted = [m["text"] for m in HISTORY_USER_LINE.finditer(side.text)]
        quoted += between(side.text, "<user>", "</user>")
        quoted += [_json_string(m["text"]) for m in CHERRY_USER_TEXT.finditer(side.text)]
        return quoted or [m.text() for m in messages if m.role == "user" and m.text() != side.text]

    @staticmethod
    def _last_prompt(side: SideRequest, messages: Sequence[ChatMessage]) -> str:
        """The prompt of the conversation's latest picture, where the history still shows it.

        Open WebUI takes the pictures out of the history it quotes, but the
        prompt line under them stays: the last quoted answer is that line.
        """
        for text in [side.text, *(m.text() for m in reversed(messages) if m.role == "assistant")]:
            shown = [picture.prompt for picture in pictures_in(text) if picture.prompt]
            if shown:
                return shown[-1]
        start = side.text.rfind("ASSISTANT:")
        if start < 0:
            return ""
        answer = side.text[start + len("ASSISTANT:") :]
        ends = [index for index in (answer.find("\nUSER:"), answer.find("</chat_history>")) if index >= 0]
        return " ".join(answer[: min(ends, default=len(answer))].split())

    def _clean(self, text: str) -> str:
        text = ANY_IMAGE.sub(" ", user_words(text))
        return parse_prompt(text, self._ratios, self._default_size).text


def _json_string(raw: str) -> str:
    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return value if isinstance(value, str) else raw


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
