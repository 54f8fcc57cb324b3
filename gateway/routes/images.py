"""``POST /v1/images/generations``: the OpenAI Images API over the same routing, rewriting and re-hosting as chat.

``openai.OpenAI(base_url=…).images.generate(...)`` works as is; requests written
for the other image services (``negative_prompt``, ``steps``, ``seed``,
``guidance``, ``aspect_ratio``, ``style``, ``background``) are understood.
The headers ``X-Imagegate-Provider`` and ``X-Imagegate-Attempts`` say which
vendor group served the pictures and how many vendor calls it took.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from gateway.auth import client_of
from gateway.errors import NotFound
from gateway.generation import planned
from gateway.image_options import check_response_format, rewrite_wanted
from gateway.pipeline import Picture, Produced
from gateway.render import image_link
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.schemas import ImageData, ImageGenerationRequest, ImagesResponse, ImageUsage
from gateway.signing import SignedLink
from gateway.urls import public_base_url


@post("/images/generations", status_code=200)
async def create_images(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[ImagesResponse]:
    started = time.perf_counter()
    body = await read_body(request, ImageGenerationRequest)
    plan = planned(body, settings=resources.settings, pipeline=resources.pipeline, templates=resources.templates)
    response_format = check_response_format(body.response_format)
    client = client_of(request)
    await resources.accounting.allow(client, plan.model, plan.n)
    produced = await resources.pipeline.produce(
        plan.model,
        plan.parsed,
        n=plan.n,
        extras=plan.extras,
        rewrite=rewrite_wanted(body.rewrite, request.headers),
        output=plan.output,
    )
    resources.accounting.record(
        produced,
        client=client,
        endpoint="images.generations",
        model=plan.model,
        idea=plan.idea,
        base_url=public_base_url(request, resources.settings),
        started=started,
    )
    return await images_answer(produced, response_format, request, resources)


async def images_answer(
    produced: Produced, response_format: str, request: Request[Any, Any, Any], resources: Resources
) -> Response[ImagesResponse]:
    """The Images API's answer: a link (or the bytes) per picture, and which vendor made them."""
    if response_format == "b64_json":
        data = [
            ImageData(revised_prompt=produced.prompt, b64_json=await _base64_of(picture, resources))
            for picture in produced.images
        ]
    else:
        base_url = public_base_url(request, resources.settings)
        data = [ImageData(revised_prompt=produced.prompt, url=image_link(base_url, p)) for p in produced.images]
    headers = {"X-Imagegate-Provider": ",".join(produced.routes), "X-Imagegate-Attempts": str(produced.attempts)}
    answer = ImagesResponse(created=int(time.time()), data=data)
    usages = [usage for usage in produced.image_usages if usage is not None]
    if usages:
        spent, made = sum(u.input_tokens for u in usages), sum(u.output_tokens for u in usages)
        answer.usage = ImageUsage(spent, made, spent + made)
    return Response(answer, headers=headers)


async def _base64_of(picture: Picture, resources: Resources) -> str:
    """The picture's bytes as base64: from the store, or (link mode) downloaded and stored now."""
    if isinstance(picture, SignedLink):
        data, _ = await resources.remote_images.open(picture.url, picture.sig)
    else:
        found = await resources.store.get(picture.name)
        if found is None:
            raise NotFound(f"image '{picture.name}' was evicted from the store before it could be sent")
        data = found[0]
    return base64.b64encode(data).decode()
