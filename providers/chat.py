"""The seed's "direct" type: an upstream chat-completions API whose reply carries the image.

The reply's text is searched for Markdown image links and ``data:image`` URIs
(and the ``message.images`` list some upstreams add); the text itself is never
passed through to the client. An edit sends the input pictures as ``image_url``
content parts (data URIs) after the prompt, as multimodal chat models take them.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from providers.base import VARIATION_PROMPT, ImageJob, ImageResult, MalformedReply, VendorUnavailable
from providers.http import decode_base64, image_reply_limit, post_json, preview, read_json

# A Markdown link target is read in three steps from each "](", so a reply full of unclosed links is read in
# linear time: the opening, the target up to the first ")", space or ">", and what may follow it.
LINK_OPENING = re.compile(r"\(\s*<?(?=https?://|data:image/)")
LINK_TARGET = re.compile(r"[^)\s>]+")
LINK_CLOSING = re.compile(r'>?(?:\s+"[^"\n]{0,300}")?\s*\)')
BARE_DATA_URI = re.compile(r"data:image/[a-zA-Z0-9.+-]+;base64,[A-Za-z0-9+/=]+")


class ChatCompletions:
    size_multiple = 64
    any_seed = False

    def extras(self, vendor_model: str) -> frozenset[str]:
        return frozenset()  # a chat upstream takes only the prompt

    def can_edit(self, vendor_model: str) -> bool:
        return True  # the upstream is a multimodal chat model; IMAGE_GEN_EDIT_MODELS_n narrows it

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        content: str | list[dict[str, Any]] = job.prompt
        if job.edit is not None:
            pictures = [{"type": "image_url", "image_url": {"url": image.data_uri}} for image in job.edit.images]
            content = [{"type": "text", "text": job.prompt or VARIATION_PROMPT}, *pictures]
        payload = {"model": job.model, "messages": [{"role": "user", "content": content}], "stream": False}
        try:
            reply = await post_json(client, base_url, key=key, payload=payload, max_bytes=image_reply_limit(job))
        except VendorUnavailable as error:
            if error.vendor_status == 404 and not base_url.rstrip("/").endswith("/chat/completions"):
                raise VendorUnavailable(
                    f"HTTP 404 at {base_url}: a chat-type IMAGE_GEN_API_BASE is the full URL ending in "
                    "/chat/completions, not the API root",
                    vendor_status=404,
                    detail=error.detail,
                ) from None
            raise
        body = await read_json(reply)
        links = links_in_reply(body)
        if not links:
            raise MalformedReply("the vendor's chat reply holds no image", detail=preview(body))
        return [
            ImageResult(data=await decode_base64(link, max_bytes=job.max_image_bytes))
            if link.startswith("data:")
            else ImageResult(url=link)
            for link in links
        ]


def links_in_reply(body: Any) -> list[str]:
    """Image links of the first choice, in order, without repeats."""
    choices = body.get("choices") if isinstance(body, dict) else None
    first: dict[str, Any] = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message: dict[str, Any] = first["message"] if isinstance(first.get("message"), dict) else {}
    images = message.get("images")
    links = [url for image in (images if isinstance(images, list) else []) if (url := image_url_of(image))]
    content = message.get("content")
    text = content if isinstance(content, str) else _text_of_parts(content)
    links += links_in_text(text)
    return list(dict.fromkeys(links))


def links_in_text(text: str) -> list[str]:
    """Markdown image/link targets that are http(s) or data URIs, then bare data URIs (repeats are dropped later)."""
    found: list[str] = []
    position = 0
    while (bracket := text.find("](", position)) >= 0:
        opening = LINK_OPENING.match(text, bracket + 1)
        if opening is None:
            position = bracket + 2
            continue
        target = LINK_TARGET.match(text, opening.end())
        assert target is not None  # the opening's look-ahead saw a scheme
        position = target.end()  # a later "](" inside this target would stop where this one did
        if LINK_CLOSING.match(text, position):
            found.append(target.group())
    found += BARE_DATA_URI.findall(text)
    return found


def image_url_of(part: Any) -> str | None:
    """The link of an ``{"image_url": {"url": …}}`` part (or ``{"image_url": "…"}``), if it has one."""
    if not isinstance(part, dict):
        return None
    image_url = part.get("image_url")
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    return url if isinstance(url, str) and url else None


def _text_of_parts(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            url = image_url_of(part)
            if url:
                texts.append(f"![image]({url})")
    return "\n".join(texts)
