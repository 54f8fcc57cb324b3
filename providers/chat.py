"""The seed's "direct" type: an upstream chat-completions API whose reply carries the image.

The reply's text is searched for Markdown image links and ``data:image`` URIs
(and the ``message.images`` list some upstreams add); the text itself is never
passed through to the client.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from providers.base import ImageJob, ImageResult, MalformedReply
from providers.http import decode_base64, post_json, read_json

MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?((?:https?://|data:image/)[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
BARE_DATA_URI = re.compile(r"data:image/[a-zA-Z0-9.+-]+;base64,[A-Za-z0-9+/=]+")


class ChatCompletions:
    size_multiple = 64

    def extras(self, vendor_model: str) -> frozenset[str]:
        return frozenset()  # a chat upstream takes only the prompt

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        payload = {"model": job.model, "messages": [{"role": "user", "content": job.prompt}], "stream": False}
        body = read_json(await post_json(client, base_url, key=key, payload=payload))
        links = links_in_reply(body)
        if not links:
            raise MalformedReply("the vendor's chat reply holds no image", detail=str(body)[:200])
        return [
            ImageResult(data=decode_base64(link)) if link.startswith("data:") else ImageResult(url=link)
            for link in links
        ]


def links_in_reply(body: Any) -> list[str]:
    """Image links of the first choice, in order, without repeats."""
    choices = body.get("choices") if isinstance(body, dict) else None
    first: dict[str, Any] = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message: dict[str, Any] = first["message"] if isinstance(first.get("message"), dict) else {}
    links: list[str] = []
    for image in message.get("images") or []:
        url = image.get("image_url", {}).get("url") if isinstance(image, dict) else None
        if isinstance(url, str):
            links.append(url)
    content = message.get("content")
    text = content if isinstance(content, str) else _text_of_parts(content)
    links += links_in_text(text)
    return list(dict.fromkeys(links))


def links_in_text(text: str) -> list[str]:
    """Markdown image/link targets that are http(s) or data URIs, then bare data URIs."""
    found = [match.group(1) for match in MARKDOWN_LINK.finditer(text)]
    stripped = MARKDOWN_LINK.sub("", text)
    found += BARE_DATA_URI.findall(stripped)
    return found


def _text_of_parts(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            url = part.get("image_url", {}).get("url") if isinstance(part.get("image_url"), dict) else None
            if isinstance(url, str):
                texts.append(f"![image]({url})")
    return "\n".join(texts)
