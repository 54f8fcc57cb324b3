"""OpenAI-type vendors: ``POST {base}/images/generations``, reply ``data[].url`` or ``data[].b64_json``."""

from __future__ import annotations

from typing import Any

import httpx

from providers.base import EXTRAS, ImageJob, ImageResult, MalformedReply
from providers.http import decode_base64, optional_fields, post_json, preview, read_json


class OpenAIImages:
    size_multiple = 16  # gpt-image-1 takes multiples of 16; the vendor checks its own list

    def extras(self, vendor_model: str) -> frozenset[str]:
        return EXTRAS

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        payload: dict[str, Any] = {"model": job.model, "prompt": job.prompt, "n": job.n, "size": job.size}
        payload |= optional_fields(
            seed=job.seed, steps=job.steps, negative_prompt=job.negative_prompt, guidance=job.guidance
        )
        response = await post_json(client, f"{base_url}/images/generations", key=key, payload=payload)
        return parse_images_reply(read_json(response))


def parse_images_reply(body: Any) -> list[ImageResult]:
    """``{"data": [{"url"} | {"b64_json"}]}`` -> results; anything else is malformed."""
    items = body.get("data") if isinstance(body, dict) else None
    results: list[ImageResult] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            results.append(ImageResult(data=decode_base64(item["b64_json"])))
        elif isinstance(item.get("url"), str) and item["url"]:
            results.append(ImageResult(url=item["url"]))
    if not results:
        raise MalformedReply("the vendor's reply holds no image", detail=preview(body))
    return results
