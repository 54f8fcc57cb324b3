"""Bounded downloads of vendor result images.

Every outbound image download goes through ``fetch_image``: few redirects, a
deadline, a size cap enforced while streaming (whatever Content-Length says),
and the body must be an image by its magic bytes.
"""

from __future__ import annotations

import asyncio

import httpx

from gateway.media import ImageKind, sniff

MAX_REDIRECTS = 3


class FetchRefused(Exception):
    """A download that was stopped or refused; ``reason`` is a short code for logs and clients."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def fetch_image(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, deadline: float
) -> tuple[bytes, ImageKind]:
    """The image at ``url`` and its sniffed kind, or FetchRefused."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchRefused("bad_scheme", "only http and https image links can be fetched")
    try:
        async with asyncio.timeout(deadline):
            data = await _download(client, url, max_bytes)
    except TimeoutError:
        raise FetchRefused("timeout", f"the image download took longer than {deadline:.0f} s") from None
    except httpx.HTTPError as error:
        raise FetchRefused("unreachable", f"the image could not be downloaded ({type(error).__name__})") from None
    kind = sniff(data)
    if kind is None:
        raise FetchRefused("not_an_image", "the downloaded file is not a PNG, JPEG, WebP, GIF or AVIF image")
    return data, kind


async def _download(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect:
                url = str(response.url.join(response.headers["location"]))
                continue
            if not response.is_success:
                raise FetchRefused("bad_status", f"the image host answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise FetchRefused("too_large", f"the image is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    raise FetchRefused("too_many_redirects", f"the image link redirected more than {MAX_REDIRECTS} times")
