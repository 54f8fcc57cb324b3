"""How results are shown to clients: Markdown, ``chat.completion`` bodies and SSE chunks."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

from gateway.pipeline import Picture, Produced
from gateway.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    ErrorBody,
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
    return f"{base_url}/image-proxy/{image.name}"


def markdown(produced: Produced, base_url: str, *, show_prompt: bool = True) -> str:
    """One Markdown image per picture, then the prompt that made them."""
    images = "\n\n".join(f"![image]({image_link(base_url, image)})" for image in produced.images)
    return f"{images}\n\n{produced.prompt}" if show_prompt else images


def approx_tokens(text: str) -> int:
    """A cheap token estimate (about four characters each) for the ``usage`` block clients expect."""
    return max(1, len(text) // 4)


def chat_completion(completion: str, model: str, content: str, prompt: str, *, reasoning: str = "") -> ChatCompletion:
    prompt_tokens, completion_tokens = approx_tokens(prompt), approx_tokens(content)
    message = AssistantMessage(content=content)
    if reasoning:
        message.reasoning_content = reasoning
    return ChatCompletion(
        id=completion,
        created=int(time.time()),
        model=model,
        choices=[Choice(message=message)],
        usage=Usage(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens),
    )


def sse(payload: ChatCompletionChunk | ErrorBody) -> bytes:
    return b"data: " + to_json(payload) + b"\n\n"


async def text_stream(completion: str, model: str, text: str) -> AsyncIterator[bytes]:
    """A whole text answer as SSE: role, content, finish, ``[DONE]``."""
    yield chunk(completion, model, Delta(role="assistant", content=""))
    yield chunk(completion, model, Delta(content=text))
    yield chunk(completion, model, Delta(), finish_reason="stop")
    yield SSE_DONE


def chunk(completion: str, model: str, delta: Delta, finish_reason: str | None = None) -> bytes:
    return sse(
        ChatCompletionChunk(
            id=completion,
            created=int(time.time()),
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
        )
    )
