"""The one policy for every outbound image download (vendor result URLs and legacy proxy links).

Only http and https; at most three redirects, each hop checked again; every
address checked and the connection pinned to it (``gateway.addresses``);
connect and read timeouts plus an overall deadline; a size cap enforced while
streaming, whatever Content-Length says; and the body must be an image by its
magic bytes, whatever content type the host claims.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import structlog

from gateway.addresses import AddressGuard, AddressRefused
from gateway.media import ImageKind, sniff
from gateway.transport import pooled_client
from providers.http import OriginBusy, read_upto

MAX_REDIRECTS = 3
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 30.0

log = structlog.get_logger("gateway.fetch")


class FetchRefused(Exception):
    """A download that was stopped or refused; ``reason`` is a short code for logs and clients."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    max_bytes: int
    deadline: float
    allow_private_networks: bool = False
    max_connections: int = 256
    """Downloads in flight from one image host at once."""
    max_queued: int = 1024
    """Downloads that may wait for one image host; past that the download is refused as ``busy``."""


def media_client(policy: FetchPolicy) -> httpx.AsyncClient:
    """The HTTP client for image downloads: its connections only reach addresses the policy allows."""
    return pooled_client(
        max_active=policy.max_connections,
        max_waiting=policy.max_queued,
        timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        guard=AddressGuard(allow_private=policy.allow_private_networks),
        headers={"Accept": "image/*", "Accept-Encoding": "identity"},
    )


class ImageFetcher:
    def __init__(self, client: httpx.AsyncClient, policy: FetchPolicy) -> None:
        self._client = client
        self._policy = policy
        self._guard = AddressGuard(allow_private=policy.allow_private_networks)

    async def fetch(self, url: str) -> tuple[bytes, ImageKind]:
        """The image at ``url`` and its sniffed kind, or FetchRefused (logged with its reason)."""
        try:
            return await self._fetch(url)
        except FetchRefused as refused:
            log.warning("media.fetch_refused", reason=refused.reason, message=refused.message)
            raise

    async def _fetch(self, url: str) -> tuple[bytes, ImageKind]:
        try:
            async with asyncio.timeout(self._policy.deadline):
                data = await self._download(url)
        except TimeoutError:
            raise FetchRefused(
                "timeout", f"the image download took longer than {self._policy.deadline:.0f} s"
            ) from None
        except AddressRefused as refused:
            raise FetchRefused(
                "forbidden_address",
                f"refused to connect: {refused} (a vendor on your own network? set MEDIA_ALLOW_PRIVATE_NETWORKS=true)",
            ) from None
        except httpx.InvalidURL as error:
            raise FetchRefused("bad_url", f"the image link is not a valid URL ({error})") from None
        except httpx.DecodingError as error:
            raise FetchRefused("bad_encoding", f"the image could not be decoded ({error})") from None
        except OriginBusy:
            raise FetchRefused("busy", "too many downloads are already waiting for this image host") from None
        except httpx.HTTPError as error:
            raise FetchRefused("unreachable", f"the image could not be downloaded ({type(error).__name__})") from None
        kind = sniff(data)
        if kind is None:
            raise FetchRefused("not_an_image", "the downloaded file is not a PNG, JPEG, WebP, GIF or AVIF image")
        return data, kind

    def _check(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchRefused("bad_url", "only http and https image links can be fetched")
        self._guard.check_literal(url.host)

    async def _download(self, raw_url: str) -> bytes:
        url = httpx.URL(raw_url)
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url)
            async with self._client.stream("GET", url, follow_redirects=False) as response:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    url = response.url.join(location)
                    continue
                if not response.is_success:
                    raise FetchRefused("bad_status", f"the image host answered HTTP {response.status_code}")
                return await self._read_capped(response)
        raise FetchRefused("too_many_redirects", f"the image link redirected more than {MAX_REDIRECTS} times")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = self._policy.max_bytes
        data = await read_upto(response, limit)
        if len(data) > limit:
            raise FetchRefused("too_large", f"the image is larger than the {limit} byte limit")
        return data
