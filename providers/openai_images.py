"""OpenAI-type vendors: ``POST {base}/images/generations``, reply ``data[].url`` or ``data[].b64_json``."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import EXTRAS, ImageJob, ImageResult, MalformedReply
from providers.http import decode_base64, image_reply_limit, optional_fields, post_json, preview, read_json


class OpenAIImages:
    size_multiple = 16  # gpt-image-1 takes multiples of 16; the vendor checks its own list
    any_seed = False  # OpenAI itself refuses unknown fields; compatible APIs that take one get the client's

    def extras(self, vendor_model: str) -> frozenset[str]:
        return EXTRAS

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        payload: dict[str, Any] = {"model": job.model, "prompt": job.prompt, "n": job.n, "size": job.size}
        payload |= optional_fields(
            seed=job.seed, steps=job.steps, negative_prompt=job.negative_prompt, guidance=job.guidance
        )
        url = f"{base_url}/images/generations"
        response = await post_json(client, url, key=key, payload=payload, max_bytes=image_reply_limit(job))
        return await parse_images_reply(await read_json(response), max_bytes=job.max_image_bytes)


async def parse_images_reply(body: Any, *, max_bytes: int) -> list[ImageResult]:
    """``{"data": [{"url"} | {"b64_json"}]}`` -> results (inline images at most ``max_bytes``); else malformed."""
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
    return results
