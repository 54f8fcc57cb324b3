"""OpenAI-type vendors: ``POST {base}/images/generations``, reply ``data[].url`` or ``data[].b64_json``.

Edits are ``POST {base}/images/edits`` and variations ``POST {base}/images/variations``, both multipart
(platform.openai.com/docs/api-reference/images/createEdit and createVariation): ``image`` (``image[]`` for
several, gpt-image models), an optional ``mask`` (transparent where to edit), ``prompt``, ``model``, ``n``,
``size``. Only dall-e-2 has the variation call; for the others a variation is an edit with a neutral prompt.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from providers.base import (
    EXTRAS,
    VARIATION_PROMPT,
    Edit,
    ImageJob,
    ImageResult,
    InputImage,
    MalformedReply,
    TokenUsage,
)
from providers.http import (
    Upload,
    decode_base64,
    image_reply_limit,
    optional_fields,
    post_json,
    post_multipart,
    preview,
    read_json,
)

EDIT_MODELS = frozenset({"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "dall-e-2"})
VARIATION_MODELS = frozenset({"dall-e-2"})


class OpenAIImages:
    size_multiple = 16  # gpt-image-1 takes multiples of 16; the vendor checks its own list
    any_seed = False  # OpenAI itself refuses unknown fields; compatible APIs that take one get the client's

    def extras(self, vendor_model: str) -> frozenset[str]:
        return EXTRAS

    def can_edit(self, vendor_model: str) -> bool:
        return vendor_model in EDIT_MODELS

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        if job.edit is not None:
            return await self._edit(job, job.edit, base_url=base_url, key=key, client=client)
        payload: dict[str, Any] = {"model": job.model, "prompt": job.prompt, "n": job.n, "size": job.size}
        payload |= optional_fields(
            seed=job.seed, steps=job.steps, negative_prompt=job.negative_prompt, guidance=job.guidance
        )
        url = f"{base_url}/images/generations"
        response = await post_json(client, url, key=key, payload=payload, max_bytes=image_reply_limit(job))
        return await parse_images_reply(await read_json(response), max_bytes=job.max_image_bytes)

    async def _edit(
        self, job: ImageJob, edit: Edit, *, base_url: str, key: str, client: httpx.AsyncClient
    ) -> list[ImageResult]:
        fields = {"model": job.model, "n": str(job.n), "size": job.size}
        if edit.variation and job.model in VARIATION_MODELS:
            url, files = f"{base_url}/images/variations", [upload("image", edit.images[0])]
        else:
            url = f"{base_url}/images/edits"
            fields["prompt"] = job.prompt or VARIATION_PROMPT
            name = "image" if len(edit.images) == 1 else "image[]"
            files = [upload(name, image) for image in edit.images]
            if edit.mask is not None:
                files.append(upload("mask", edit.mask))
        fields |= {name: str(value) for name, value in optional_fields(seed=job.seed).items()}
        reply = await post_multipart(client, url, key=key, fields=fields, files=files, max_bytes=image_reply_limit(job))
        return await parse_images_reply(await read_json(reply), max_bytes=job.max_image_bytes)


def upload(field: str, image: InputImage) -> Upload:
    return field, (f"{field.strip('[]')}.{image.extension}", image.data, image.media_type)


async def parse_images_reply(body: Any, *, max_bytes: int) -> list[ImageResult]:
    """``{"data": [{"url"} | {"b64_json"}]}`` -> results (inline images at most ``max_bytes``); else malformed.

    The reply's ``usage`` (input and output tokens) rides on the first result.
    """
    items = body.get("data") if isinstance(body, dict) else None
    results: list[ImageResult] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            results.append(ImageResult(data=await decode_base64(item["b64_json"], max_bytes=max_bytes)))
        elif isinstance(item.get("url"), str) and item["url"]:
            results.append(ImageResult(url=item["url"]))
    if not results:
        raise MalformedReply("the vendor's reply holds no image", detail=preview(body))
    usage = body.get("usage") if isinstance(body, dict) else None
    if isinstance(usage, dict):
        spent, made = usage.get("input_tokens"), usage.get("output_tokens")
        if isinstance(spent, int) and isinstance(made, int) and spent >= 0 and made >= 0:
            results[0] = dataclasses.replace(results[0], usage=TokenUsage(spent, made))
    return results
