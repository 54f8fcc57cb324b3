"""Cloudflare Workers AI: ``POST {base}/{model}``.

Models differ in what they take, so a small table says which fields each family
accepts and their limits. Replies are JSON ``result.image`` (base64, flux style)
or raw image bytes (SDXL style), told apart by content type.

Edits (developers.cloudflare.com/workers-ai/models/stable-diffusion-v1-5-img2img
and -inpainting): the input picture goes in ``image`` and the mask in ``mask``,
both as arrays of byte values, with ``strength``; the inpainting mask is white
where to paint, so the OpenAI-style mask (transparent where to edit) is
converted. Text-only models are not offered for edits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import httpx

from providers.base import EXTRAS, VARIATION_PROMPT, ImageJob, ImageResult, MalformedReply, VendorUnavailable
from providers.http import (
    check_image_size,
    decode_base64,
    image_reply_limit,
    optional_fields,
    post_json,
    preview,
    read_json,
    vendor_message,
)
from providers.pictures import paint_where_transparent


@dataclass(frozen=True, slots=True)
class ModelFamily:
    """The request fields one family of Workers AI models accepts."""

    takes_size: bool
    steps_field: str
    max_steps: int
    takes_extras: bool
    min_side: int = 256
    max_side: int = 2048
    takes_image: bool = False
    takes_mask: bool = False


FLUX_SCHNELL = ModelFamily(takes_size=False, steps_field="steps", max_steps=8, takes_extras=False)
SDXL = ModelFamily(takes_size=True, steps_field="num_steps", max_steps=20, takes_extras=True)
IMG2IMG = ModelFamily(takes_size=True, steps_field="num_steps", max_steps=20, takes_extras=True, takes_image=True)
INPAINTING = dataclasses.replace(IMG2IMG, takes_mask=True)
FAMILIES: dict[str, ModelFamily] = {
    "@cf/black-forest-labs/flux-1-schnell": FLUX_SCHNELL,
    "@cf/runwayml/stable-diffusion-v1-5-img2img": IMG2IMG,
    "@cf/runwayml/stable-diffusion-v1-5-inpainting": INPAINTING,
}


def family_of(model: str) -> ModelFamily:
    return FAMILIES.get(model, SDXL)


def build_payload(job: ImageJob, mask: bytes | None = None) -> dict[str, Any]:
    """The JSON body; ``mask`` is the inpainting mask already converted (white where to paint)."""
    family = family_of(job.model)
    payload: dict[str, Any] = {"prompt": job.prompt or VARIATION_PROMPT}
    if family.takes_size:
        payload["width"] = min(max(job.width, family.min_side), family.max_side)
        payload["height"] = min(max(job.height, family.min_side), family.max_side)
    if job.steps is not None:
        payload[family.steps_field] = min(max(job.steps, 1), family.max_steps)
    if family.takes_extras:
        payload |= optional_fields(seed=job.seed, negative_prompt=job.negative_prompt, guidance=job.guidance)
    if job.edit is not None and family.takes_image:
        payload["image"] = list(job.edit.images[0].data)
        payload |= optional_fields(strength=job.edit.strength)
        if mask is not None and family.takes_mask:
            payload["mask"] = list(mask)
    return payload


class Cloudflare:
    size_multiple = 64
    any_seed = True  # the models that take no seed are sent none (ModelFamily.takes_extras)

    def extras(self, vendor_model: str) -> frozenset[str]:
        return EXTRAS if family_of(vendor_model).takes_extras else frozenset({"steps"})

    def can_edit(self, vendor_model: str) -> bool:
        return family_of(vendor_model).takes_image

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        url, limit = f"{base_url}/{job.model}", image_reply_limit(job)
        mask = None
        if job.edit is not None and job.edit.mask is not None and family_of(job.model).takes_mask:
            mask = await anyio.to_thread.run_sync(paint_where_transparent, job.edit.mask)
        response = await post_json(client, url, key=key, payload=build_payload(job, mask), max_bytes=limit)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type.startswith("image/") or content_type == "application/octet-stream":
            if not response.content:
                raise MalformedReply("the vendor sent an empty image", vendor_status=response.status_code)
            return [ImageResult(data=check_image_size(response.content, job.max_image_bytes))]
        body = await read_json(response)
        if not isinstance(body, dict):
            raise MalformedReply("the vendor's reply is not an object", detail=preview(body))
        if body.get("success") is False:
            raise VendorUnavailable(
                "the vendor reported failure", vendor_status=response.status_code, detail=vendor_message(body)
            )
        result = body.get("result")
        image = result.get("image") if isinstance(result, dict) else None
        if not isinstance(image, str) or not image:
            raise MalformedReply("the vendor's reply holds no image", detail=preview(body))
        return [ImageResult(data=await decode_base64(image, max_bytes=job.max_image_bytes))]
