"""How results are shown to clients: Markdown, ``chat.completion`` bodies and SSE chunks."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

from gateway.chat_markdown import picture_markdown
from gateway.pipeline import Picture, Produced
from gateway.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    ErrorBody,
    ImagePart,
    ImageUrl,
    Usage,
    to_json,
)
from gateway.signing import SignedLink

SSE_DONE = b"data: [DONE]\n\n"
SSE_KEEPALIVE = b": keep-alive\n\n"


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def image_link(base_url: str, image: Picture) -> str:
    """The absolute link a client gets: the stored copy, or a signed link stored on its first hit."""
    if isinstance(image, SignedLink):
        return f"{base_url}/image-proxy?{image.query}"
    return image.url or f"{base_url}/image-proxy/{image.name}"


def markdown(produced: Produced, base_url: str, *, show_prompt: bool = True) -> str:
    """One Markdown image per picture (carrying its prompt, size and seed for a follow-up), then the prompt."""
    images = "\n\n".join(
        picture_markdown(image_link(base_url, image), produced.prompt, produced.width, produced.height, seed)
        for image, seed in zip(produced.images, produced.seeds, strict=True)
    )
    return f"{images}\n\n{produced.prompt}" if show_prompt else images


def image_parts(produced: Produced, base_url: str) -> list[ImagePart]:
    """The pictures as ``message.images`` (OpenRouter's shape), by link: base64 in SSE breaks chat UIs' readers."""
    return [ImagePart(image_url=ImageUrl(url=image_link(base_url, image))) for image in produced.images]


def approx_tokens(text: str) -> int:
    """A cheap token estimate (about four characters each) for the ``usage`` block clients expect."""
    return max(1, len(text) // 4)


def usage_of(prompt: str, content: str) -> Usage:
    prompt_tokens, completion_tokens = approx_tokens(prompt), approx_tokens(content)
    return Usage(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens)


def chat_completion(
    completion: str,
    model: str,
    content: str,
    prompt: str,
    *,
    reasoning: str = "",
    images: list[ImagePart] | None = None,
) -> ChatCompletion:
    message = AssistantMessage(content=content)
    if reasoning:
        message.reasoning_content = reasoning
    if images:
        message.images = images
    return ChatCompletion(
        id=completion,
        created=int(time.time()),
        model=model,
        choices=[Choice(message=message)],
        usage=usage_of(prompt, content),
    )


def sse(payload: ChatCompletionChunk | ErrorBody) -> bytes:
    return b"data: " + to_json(payload) + b"\n\n"


async def text_stream(completion: str, model: str, text: str, *, usage: Usage | None) -> AsyncIterator[bytes]:
    """A whole text answer as SSE: role, content, finish, the usage chunk if asked for, ``[DONE]``."""
    yield chunk(completion, model, Delta(role="assistant", content=""))
    yield chunk(completion, model, Delta(content=text))
    for ending in stream_end(completion, model, usage):
        yield ending


def stream_end(completion: str, model: str, usage: Usage | None) -> list[bytes]:
    """The finish chunk, the usage chunk (``stream_options.include_usage``: no choices, only usage), ``[DONE]``."""
    ending = [chunk(completion, model, Delta(), finish_reason="stop")]
    if usage is not None:
        last = ChatCompletionChunk(id=completion, created=int(time.time()), model=model, choices=[], usage=usage)
        ending.append(sse(last))
    return [*ending, SSE_DONE]


def chunk(completion: str, model: str, delta: Delta, finish_reason: str | None = None) -> bytes:
    return sse(
        ChatCompletionChunk(
            id=completion,
            created=int(time.time()),
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
        )
    )
