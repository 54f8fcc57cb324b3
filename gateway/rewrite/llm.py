"""One call to an OpenAI-compatible chat-completions LLM, plain or streamed.

Failures are classified by ``providers.http`` like any vendor's, so the
rewriting LLM's keys rotate, cool down and fail over under the same rules as
image vendors' keys.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from providers import MalformedReply, ReplyTooLarge
from providers.http import bearer, post_json, read_json, read_reply, translate_transport_errors

REASONING_FIELDS = ("reasoning_content", "reasoning")
REPLY_LIMIT = 1024 * 1024
"""A rewritten prompt and its thinking fit many times over; a streamed answer is cut off past it too."""


@dataclass(frozen=True, slots=True)
class LLMReply:
    content: str
    reasoning: str


def chat_url(base: str) -> str:
    """``OPENAI_API_BASE`` may be the API root (``…/v1``) or the full chat-completions URL."""
    base = base.rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


async def complete(client: httpx.AsyncClient, url: str, *, key: str, payload: dict[str, Any]) -> LLMReply:
    reply = await post_json(client, url, key=key, payload={**payload, "stream": False}, max_bytes=REPLY_LIMIT)
    body = await read_json(reply)
    message = _first(body, "message")
    content = message.get("content")
    return LLMReply(content if isinstance(content, str) else "", _reasoning_of(message))


async def stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    key: str,
    payload: dict[str, Any],
    on_reasoning: Callable[[str], None],
    on_content: Callable[[str], None],
) -> None:
    """Stream a completion; the reasoning field's text goes to ``on_reasoning``, content text to ``on_content``."""
    async with translate_transport_errors():
        request = client.build_request("POST", url, json={**payload, "stream": True}, headers=bearer(key))
        response = await client.send(request, stream=True)
        try:
            if not response.is_success:
                await read_reply(response, key=key, max_bytes=REPLY_LIMIT)  # raises the reply's classified error
            async for line in _lines(response, REPLY_LIMIT):
                delta = _delta_of(line)
                if delta is None:
                    continue
                if reasoning := _reasoning_of(delta):
                    on_reasoning(reasoning)
                content = delta.get("content")
                if isinstance(content, str) and content:
                    on_content(content)
        finally:
            await response.aclose()


async def _lines(response: httpx.Response, limit: int) -> AsyncIterator[str]:
    """The streamed body's lines; past ``limit`` characters in all, a ReplyTooLarge."""
    received = 0
    pending: list[str] = []
    async for text in response.aiter_text():
        received += len(text)
        if received > limit:
            raise ReplyTooLarge(f"the LLM streamed more than {limit} characters")
        lines = text.split("\n")
        if len(lines) > 1:
            lines[0] = "".join([*pending, lines[0]])
            pending = []
            for line in lines[:-1]:
                yield line.rstrip("\r")
        pending.append(lines[-1])
    if rest := "".join(pending):
        yield rest


def _delta_of(line: str) -> dict[str, Any] | None:
    """The ``delta`` of one SSE ``data:`` line; None for comments, blanks and ``[DONE]``."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return None
    try:
        chunk = json.loads(data)
    except json.JSONDecodeError:
        raise MalformedReply("the LLM streamed a line that is not JSON", detail=data[:200]) from None
    return _first(chunk, "delta")


def _first(body: Any, field: str) -> dict[str, Any]:
    choices = body.get("choices") if isinstance(body, dict) else None
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    part = first.get(field)
    return part if isinstance(part, dict) else {}


def _reasoning_of(part: dict[str, Any]) -> str:
    for field in REASONING_FIELDS:
        value = part.get(field)
        if isinstance(value, str) and value:
            return value
    return ""
