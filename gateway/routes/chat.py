"""``POST /v1/chat/completions``: the last user message is a picture idea; the answer is Markdown."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from config import Settings
from gateway.errors import InvalidRequest
from gateway.pipeline import ImagePipeline
from gateway.render import chat_completion, completion_id, markdown
from gateway.routes.body import read_body
from gateway.schemas import ChatCompletion, ChatCompletionRequest, ChatMessage
from gateway.streaming import BackgroundWork, stream_chat
from gateway.urls import public_base_url

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def last_user_text(messages: list[ChatMessage]) -> str:
    if not messages:
        raise InvalidRequest("messages must hold at least one message", param="messages")
    for message in reversed(messages):
        if message.role == "user":
            return message.text()
    raise InvalidRequest("messages hold no user message to draw", param="messages")


@post("/chat/completions", status_code=200)
async def create_chat_completion(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    pipeline: NamedDependency[ImagePipeline],
    background: NamedDependency[BackgroundWork],
) -> Response[ChatCompletion] | Stream:
    body = await read_body(request, ChatCompletionRequest)
    parsed = pipeline.prepare(body.model, last_user_text(body.messages), param="messages")
    base_url = public_base_url(request, settings)
    completion = completion_id()

    async def content() -> str:
        produced = await pipeline.produce(body.model, parsed)
        return markdown(produced, base_url)

    if body.stream:
        events = stream_chat(
            content,
            completion=completion,
            model=body.model,
            keepalive=settings.stream_keepalive_seconds,
            background=background,
        )
        return Stream(events, media_type="text/event-stream", headers=SSE_HEADERS)
    return Response(chat_completion(completion, body.model, await content(), parsed.text))
