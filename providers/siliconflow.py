"""SiliconFlow-type vendors: ``POST {base}`` with ``image_size``; reply ``images[].url`` (temporary links)."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import EXTRAS, ImageJob, ImageResult, MalformedReply
from providers.http import REPLY_OVERHEAD, optional_fields, post_json, preview, read_json

REPLY_LIMIT = REPLY_OVERHEAD
"""SiliconFlow answers with links, never inline images."""


class SiliconFlow:
    size_multiple = 64
    any_seed = True

    def extras(self, vendor_model: str) -> frozenset[str]:
        return EXTRAS

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        payload: dict[str, Any] = {
            "model": job.model,
            "prompt": job.prompt,
            "image_size": job.size,
            "batch_size": job.n,
        }
        payload |= optional_fields(
            seed=job.seed,
            num_inference_steps=job.steps,
            negative_prompt=job.negative_prompt,
            guidance_scale=job.guidance,
        )
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
