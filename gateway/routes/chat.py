"""``POST /v1/chat/completions``: the last user message is a picture idea; the answer is Markdown.

A chat UI's own housekeeping prompts (titles, tags, follow-ups, summaries) are
recognised first and answered with text, without making an image.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from gateway.errors import InvalidRequest
from gateway.image_options import check_count, check_extras, requested_size, rewrite_wanted
from gateway.render import chat_completion, completion_id, markdown, text_stream
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.schemas import ChatCompletion, ChatCompletionRequest, ChatMessage
from gateway.streaming import Think, stream_chat
from gateway.urls import public_base_url

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_CHAT_IMAGES = 4


def last_user_text(messages: list[ChatMessage]) -> str:
    if not messages:
        raise InvalidRequest("messages must hold at least one message", param="messages")
    for message in reversed(messages):
        if message.role == "user":
            return message.text()
    raise InvalidRequest("messages hold no user message to draw", param="messages")


@post("/chat/completions", status_code=200)
async def create_chat_completion(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[ChatCompletion] | Stream:
    settings, pipeline, side_requests = resources.settings, resources.pipeline, resources.side_requests
    body = await read_body(request, ChatCompletionRequest)
    pipeline.router.routes_for(body.model)
    completion = completion_id()
    side = side_requests.recognise(body.messages)
    if side is not None:
        reply = await side_requests.answer(side, body.messages)
        if body.stream:
            return Stream(
                text_stream(completion, body.model, reply), media_type="text/event-stream", headers=SSE_HEADERS
            )
        return Response(chat_completion(completion, body.model, reply, side.text))

    parsed = pipeline.prepare(body.model, last_user_text(body.messages), param="messages")
    size = requested_size(body.size, multiple=pipeline.size_multiple(body.model))
    if size is not None:  # an explicit size field wins over the words
        parsed = dataclasses.replace(parsed, width=size[0], height=size[1])
    n = check_count(body.n, most=MAX_CHAT_IMAGES)
    extras = check_extras(body)
    base_url = public_base_url(request, settings)
    rewrite = rewrite_wanted(body.rewrite, request.headers)

    if body.stream:

        async def streamed_content(think: Think) -> str:
            thought: list[str] = []

            def relay(text: str) -> None:
                thought.append(text)
                think(text)

            produced = await pipeline.produce(
                body.model, parsed, n=n, extras=extras, rewrite=rewrite, on_reasoning=relay
            )
            if produced.reasoning and not thought:  # from the cache, or a request that shared another's call
                think(produced.reasoning)
            return markdown(produced, base_url, show_prompt=settings.show_revised_prompt)

        events = stream_chat(
            streamed_content,
            completion=completion,
            model=body.model,
            keepalive=settings.stream_keepalive_seconds,
            background=resources.background,
        )
        return Stream(events, media_type="text/event-stream", headers=SSE_HEADERS)

    produced = await pipeline.produce(body.model, parsed, n=n, extras=extras, rewrite=rewrite)
    content = markdown(produced, base_url, show_prompt=settings.show_revised_prompt)
    return Response(chat_completion(completion, body.model, content, parsed.text, reasoning=produced.reasoning))
