"""``POST /v1/images/edits`` and ``/v1/images/variations``: pictures in, pictures out, as OpenAI's Images API.

Both take multipart (``image`` or ``image[]``, one or more files; ``mask``;
the other fields as text, as the ``openai`` SDKs and Open WebUI send them) or
JSON (``image`` as base64, a ``data:`` URI or an http(s) link, or OpenAI's
``images: [{"image_url": …}]``). Only routes that can edit are tried; a model
that cannot is a 400 naming those that can. The answer is the generations
endpoint's, every result re-hosted.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency

from gateway.auth import client_of
from gateway.errors import InvalidRequest
from gateway.generation import MAX_IMAGES
from gateway.image_options import (
    MAX_TEXT,
    check_count,
    check_extras,
    check_output,
    check_response_format,
    check_strength,
    requested_size,
)
from gateway.input_images import size_of_input
from gateway.prompt import ParsedPrompt
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.routes.images import images_answer
from gateway.schemas import ImageEditRequest, ImagesResponse
from gateway.templates import filled
from gateway.urls import public_base_url
from providers import Edit, InputImage

MAX_INPUTS = 16
"""OpenAI's own limit for gpt-image edits."""
MAX_UPLOAD = 128 * 1024 * 1024
"""The largest edit request body; each picture in it is also held to MEDIA_MAX_BYTES."""
IMAGE_FIELDS = ("image", "image[]")


@post("/images/edits", status_code=200, request_max_body_size=MAX_UPLOAD)
async def create_image_edit(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[ImagesResponse]:
    return await _edit(request, resources, variation=False)


@post("/images/variations", status_code=200, request_max_body_size=MAX_UPLOAD)
async def create_image_variation(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[ImagesResponse]:
    return await _edit(request, resources, variation=True)


async def _edit(request: Request[Any, Any, Any], resources: Resources, *, variation: bool) -> Response[ImagesResponse]:
    started = time.perf_counter()
    settings, pipeline = resources.settings, resources.pipeline
    body, uploads, mask_upload = await _read(request)
    # A template brings its model and presets; an edit's words stay the instruction they are.
    body = filled(body, resources.templates.chosen(body.template_id, body.template, body.model), prompt=None)
    model = body.model or settings.default_image_model or pipeline.router.models[0]
    pipeline.router.edit_routes_for(model)  # a model that cannot edit is refused before any picture is read
    prompt = "" if variation else body.prompt.strip()
    if not variation and not prompt:
        raise InvalidRequest("prompt is required: say how to change the picture", param="prompt")
    if len(prompt) > MAX_TEXT:
        raise InvalidRequest(f"prompt is longer than {MAX_TEXT} characters", param="prompt")
    n = check_count(body.n, most=MAX_IMAGES)
    response_format = check_response_format(body.response_format)
    extras = check_extras(body)
    strength = check_strength(body.strength)
    images = await _pictures(resources, uploads, body.references())
    if variation:
        images = images[:1]
    mask = await _mask(resources, mask_upload, body.mask_reference(), images[0])
    multiple = pipeline.size_multiple(model)
    size = requested_size(body.size, multiple=multiple) or size_of_input(images[0], multiple)
    output = check_output(size[0], size[1], body.output_format, body.output_compression)
    edit = Edit(tuple(images), mask, strength, variation)
    client = client_of(request)
    await resources.accounting.allow(client, model, n)
    produced = await pipeline.produce(
        model, ParsedPrompt(prompt, size[0], size[1]), n=n, extras=extras, rewrite=False, edit=edit, output=output
    )
    resources.accounting.record(
        produced,
        client=client,
        endpoint="images.variations" if variation else "images.edits",
        model=model,
        idea=prompt,
        base_url=public_base_url(request, settings),
        started=started,
        edit=edit,
    )
    return await images_answer(produced, response_format, request, resources)


async def _read(request: Request[Any, Any, Any]) -> tuple[ImageEditRequest, list[UploadFile], UploadFile | None]:
    """The body's fields, and the uploaded pictures and mask when it is multipart."""
    content_type, _ = request.content_type
    if content_type != "multipart/form-data":
        return await read_body(request, ImageEditRequest), [], None
    form = await request.form()
    uploads = [value for field in IMAGE_FIELDS for value in form.getall(field, []) if isinstance(value, UploadFile)]
    fields: dict[str, Any] = {
        name: value for name, value in form.items() if isinstance(value, str) and name not in IMAGE_FIELDS
    }
    texts = [value for field in IMAGE_FIELDS for value in form.getall(field, []) if isinstance(value, str)]
    if texts:
        fields["image"] = texts
    mask = form.get("mask")
    if isinstance(mask, UploadFile):
        fields.pop("mask", None)
    try:
        body = msgspec.convert(fields, ImageEditRequest, strict=False)
    except msgspec.ValidationError as error:
        raise InvalidRequest(f"invalid form field: {error}") from None
    return body, uploads, mask if isinstance(mask, UploadFile) else None


async def _pictures(resources: Resources, uploads: list[UploadFile], references: list[str]) -> list[InputImage]:
    count = len(uploads) + len(references)
    if count == 0:
        raise InvalidRequest("image is required: send the picture to change", param="image")
    if count > MAX_INPUTS:
        raise InvalidRequest(f"at most {MAX_INPUTS} pictures can be sent, not {count}", param="image")
    inputs = resources.inputs
    pictures = [await inputs.from_bytes(await upload.read(), param="image") for upload in uploads]
    return pictures + [await inputs.from_reference(reference, param="image") for reference in references]


async def _mask(
    resources: Resources, upload: UploadFile | None, reference: str | None, image: InputImage
) -> InputImage | None:
    inputs = resources.inputs
    if upload is not None:
        mask = await inputs.from_bytes(await upload.read(), param="mask")
    elif reference:
        mask = await inputs.from_reference(reference, param="mask")
    else:
        return None
    return await inputs.matching_mask(mask, image)
