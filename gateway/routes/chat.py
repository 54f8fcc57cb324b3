"""``POST /v1/chat/completions``: the conversation is a picture being made; the answer is Markdown.

A chat UI's own housekeeping prompts (titles, tags, follow-ups, summaries) are
recognised first and answered with text, without making an image. Otherwise
the last user message is a new idea, a change to the previous picture of the
conversation or a request for it again (``conversation``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import structlog
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from gateway.auth import client_of
from gateway.conversation import Brief, read_brief
from gateway.errors import ApiError
from gateway.image_options import check_count, check_extras, ratio_size, requested_size, rewrite_wanted
from gateway.input_images import size_of_input
from gateway.pipeline import Produced
from gateway.prompt import Size
from gateway.render import chat_completion, completion_id, image_parts, markdown, text_stream, usage_of
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.schemas import ChatCompletion, ChatCompletionRequest, Delta
from gateway.streaming import Relay, stream_chat
from gateway.templates import Template, filled
from gateway.urls import public_base_url
from providers import Edit

log = structlog.get_logger("gateway.chat")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_CHAT_IMAGES = 4


@post("/chat/completions", status_code=200)
async def create_chat_completion(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[ChatCompletion] | Stream:
    started = time.perf_counter()
    settings, pipeline, side_requests = resources.settings, resources.pipeline, resources.side_requests
    body = await read_body(request, ChatCompletionRequest)
    template = resources.templates.chosen(body.template_id, body.template, body.model)
    body = filled(body, template, prompt=None, fields=("negative_prompt", "steps", "guidance"))
    pipeline.router.routes_for(body.model)
    completion = completion_id()
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    side = side_requests.recognise(body.messages)
    if side is not None:
        reply = await side_requests.answer(side, body.messages)
        if body.stream:
            usage = usage_of(side.text, reply) if include_usage else None
            events = text_stream(completion, body.model, reply, usage=usage)
            return Stream(events, media_type="text/event-stream", headers=SSE_HEADERS)
        return Response(chat_completion(completion, body.model, reply, side.text))

    brief = read_brief(
        body.messages, settings.aspect_ratios, settings.default_size, follow_ups=settings.chat_follow_ups
    )
    brief = _with_template(brief, template, settings.aspect_ratios, pipeline.size_multiple(body.model))
    size = requested_size(body.size, multiple=pipeline.size_multiple(body.model))
    if size is not None:  # an explicit size field wins over the words and the previous picture
        brief = dataclasses.replace(brief, parsed=dataclasses.replace(brief.parsed, width=size[0], height=size[1]))
    edit = await _edit_of(brief, resources, body.model)
    if edit is not None and brief.pictures and size is None and not brief.parsed.sized:
        width, height = size_of_input(edit.images[0], pipeline.size_multiple(body.model))
        brief = dataclasses.replace(brief, parsed=dataclasses.replace(brief.parsed, width=width, height=height))
    parsed = brief.parsed
    n = check_count(body.n, most=MAX_CHAT_IMAGES)
    extras = check_extras(body)
    base_url = public_base_url(request, settings)
    rewrite = rewrite_wanted(body.rewrite, request.headers)

    client = client_of(request)
    await resources.accounting.allow(client, body.model, n)

    def answer_of(produced: Produced) -> Delta:
        """The answer's Markdown (and images field); the pictures are recorded (and counted) first."""
        resources.accounting.record(
            produced,
            client=client,
            endpoint="chat.completions",
            model=body.model,
            idea=parsed.text,
            base_url=base_url,
            started=started,
            edit=edit,
        )
        content = markdown(produced, base_url, show_prompt=settings.show_revised_prompt)
        return Delta(content=content, images=image_parts(produced, base_url) if settings.chat_images_field else None)

    if body.stream:

        async def streamed_answer(relay: Relay) -> Delta:
            relay.progress(_turn_line(brief, body.model, n, edit))
            produced = await pipeline.produce(
                body.model,
                parsed,
                n=n,
                extras=extras,
                rewrite=rewrite,
                basis=brief.basis,
                edit=edit,
                on_reasoning=relay.think,
                on_progress=relay.progress,
            )
            return answer_of(produced)

        events = stream_chat(
            streamed_answer,
            completion=completion,
            model=body.model,
            progress=settings.chat_progress,
            keepalive=settings.stream_keepalive_seconds,
            background=resources.background,
            usage_prompt=parsed.text if include_usage else None,
        )
        return Stream(events, media_type="text/event-stream", headers=SSE_HEADERS)

    produced = await pipeline.produce(
        body.model, parsed, n=n, extras=extras, rewrite=rewrite, basis=brief.basis, edit=edit
    )
    answer = answer_of(produced)
    return Response(
        chat_completion(
            completion,
            body.model,
            answer.content or "",
            parsed.text,
            reasoning=produced.reasoning,
            images=answer.images,
        )
    )


def _with_template(brief: Brief, template: Template | None, ratios: dict[str, Size], multiple: int) -> Brief:
    """A new idea inside the template's prompt, at its size unless the words name one; changes stay as they are."""
    if template is None or brief.basis is not None:
        return brief
    parsed = dataclasses.replace(brief.parsed, text=template.apply(brief.parsed.text))
    if not parsed.sized:
        size = requested_size(template.size, multiple=multiple) or (
            ratio_size(template.aspect_ratio, ratios) if template.aspect_ratio else None
        )
        if size is not None:
            parsed = dataclasses.replace(parsed, width=size[0], height=size[1])
    return dataclasses.replace(brief, parsed=parsed)


async def _edit_of(brief: Brief, resources: Resources, model: str) -> Edit | None:
    """The pictures this turn starts from: the ones attached, or the previous picture for a change to it.

    An attached picture for a model that cannot edit is a 400 naming those that
    can. The previous picture is used only when the model can edit
    (``CHAT_EDIT_PREVIOUS``) and can still be read; otherwise the changed
    prompt is drawn afresh.
    """
    router, inputs = resources.pipeline.router, resources.inputs
    if brief.pictures:
        router.edit_routes_for(model)
        images = [await inputs.from_reference(picture, param="messages") for picture in brief.pictures]
        return Edit(tuple(images), variation=not brief.parsed.text)
    previous = brief.previous
    # A change in words starts from the picture; a new size alone is drawn again with the same seed (an edit
    # would crop the old picture, not show more of the scene).
    changes_it = brief.reading.kind == "refine" and brief.basis is not None and bool(brief.parsed.text)
    if previous is None or not changes_it or not resources.settings.chat_edit_previous:
        return None
    if not any(route.can_edit for route in router.routes_for(model)):
        return None
    try:
        image = await inputs.from_reference(previous.link, param="messages")
    except ApiError as error:
        log.info("chat.previous_picture_unreadable", reason=error.message)
        return None
    return Edit((image,))


def _turn_line(brief: Brief, model: str, n: int, edit: Edit | None) -> str:
    """The first progress line: how the message was read, and what will be made."""
    pictures = "1 picture" if n == 1 else f"{n} pictures"
    what = f"{pictures} with {model} at {brief.parsed.width}x{brief.parsed.height}"
    if brief.pictures:
        return f"Changing the attached picture: {brief.parsed.text or 'a variation'}. Making {what}."
    if brief.reading.kind == "again":
        return f"Another take on the previous picture, with a new seed: {what}."
    if brief.reading.kind == "refine":
        change = f": {brief.parsed.text}" if brief.parsed.text else " (new size)"
        how = ", starting from it" if edit is not None else ""
        return f"Changing the previous picture{change}{how}. Making {what}."
    return f"Making {what}."
