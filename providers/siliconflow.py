"""SiliconFlow-type vendors: ``POST {base}`` with ``image_size``; reply ``images[].url`` (temporary links).

Edits (docs.siliconflow.cn, images/generations): the models that take an input picture read it from ``image``
(a data URI or URL; ``image2``, ``image3`` for more). The Qwen-Image-Edit models refuse ``image_size`` (the
output follows the input); Kolors keeps it for image-to-image.
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import EXTRAS, VARIATION_PROMPT, ImageJob, ImageResult, MalformedReply
from providers.http import REPLY_OVERHEAD, optional_fields, post_json, preview, read_json

REPLY_LIMIT = REPLY_OVERHEAD
"""SiliconFlow answers with links, never inline images."""
EDIT_MODELS = frozenset(
    {"Qwen/Qwen-Image-Edit", "Qwen/Qwen-Image-Edit-2509", "Kwai-Kolors/Kolors", "black-forest-labs/FLUX.1-Kontext-dev"}
)
SIZELESS_EDIT_MODELS = frozenset({"Qwen/Qwen-Image-Edit", "Qwen/Qwen-Image-Edit-2509"})
IMAGE_FIELDS = ("image", "image2", "image3")


class SiliconFlow:
    size_multiple = 64
    any_seed = True

    def extras(self, vendor_model: str) -> frozenset[str]:
        return EXTRAS

    def can_edit(self, vendor_model: str) -> bool:
        return vendor_model in EDIT_MODELS

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        payload: dict[str, Any] = {
            "model": job.model,
            "prompt": job.prompt or VARIATION_PROMPT,
            "image_size": job.size,
            "batch_size": job.n,
        }
        payload |= optional_fields(
            seed=job.seed,
            num_inference_steps=job.steps,
            negative_prompt=job.negative_prompt,
            guidance_scale=job.guidance,
        )
        if job.edit is not None:
            payload |= {field: image.data_uri for field, image in zip(IMAGE_FIELDS, job.edit.images, strict=False)}
            if job.model in SIZELESS_EDIT_MODELS:
                del payload["image_size"]
        body = await read_json(await post_json(client, base_url, key=key, payload=payload, max_bytes=REPLY_LIMIT))
        items = (body.get("images") or body.get("data")) if isinstance(body, dict) else None
        urls = [
            item["url"]
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"]
        ]
        if not urls:
            raise MalformedReply("the vendor's reply holds no image url", detail=preview(body))
        return [ImageResult(url=url) for url in urls]
