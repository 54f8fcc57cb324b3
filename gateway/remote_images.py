"""Signed remote links (``/image-proxy?url=…&sig=…``): fetched and stored on first hit, then served from the store.

Nothing is fetched for a link whose signature does not check out. Concurrent
first hits on one link share one download.
"""

from __future__ import annotations

import structlog

from gateway.errors import ApiError, Forbidden, InvalidRequest, UpstreamFailed
from gateway.fetch import FetchRefused, ImageFetcher
from gateway.media import ImageTooLarge, MediaStore, StoredImage, link_key, name_image
from gateway.signing import LinkSigner
from gateway.singleflight import SingleFlight

log = structlog.get_logger("gateway.remote_images")


class RemoteImages:
    def __init__(self, store: MediaStore, fetcher: ImageFetcher, signer: LinkSigner) -> None:
        self._store = store
        self._fetcher = fetcher
        self._signer = signer
        self._downloads: SingleFlight[str, tuple[bytes, StoredImage]] = SingleFlight()

    async def open(self, url: str | None, sig: str | None) -> tuple[bytes, StoredImage]:
        """The image behind a signed link: from the store, or downloaded and stored now."""
        if not url:
            raise InvalidRequest("the url query parameter is missing", param="url")
        if not sig:
            raise Forbidden("this image link is not signed", param="sig", code="missing_signature")
        if not self._signer.verify(url, sig):
            raise Forbidden("this image link's signature is not valid", param="sig", code="invalid_signature")
        key = link_key(url)
        return await self._downloads.run(key, lambda: self._load(key, url))

    async def _load(self, key: str, url: str) -> tuple[bytes, StoredImage]:
        name = await self._store.linked(key)
        found = await self._store.get(name) if name else None
        if found is not None:
            return found
        try:
            data, kind = await self._fetcher.fetch(url)
        except FetchRefused as refused:
            raise refusal_error(refused) from None
        try:
            image = await self._store.put(data, kind)
        except ImageTooLarge as error:  # served this once from what was fetched; the next hit fetches again
            log.warning("media.not_stored", reason=str(error))
            return data, name_image(data, kind)
        await self._store.remember_link(key, image.name)
        return data, image


def refusal_error(refused: FetchRefused) -> ApiError:
    """4xx when the link itself is unacceptable, 502 when the remote host failed us."""
    message = f"the image could not be fetched: {refused.message}"
    if refused.reason == "forbidden_address":
        return Forbidden(message, param="url", code=refused.reason)
    if refused.reason == "bad_url":
        return InvalidRequest(message, param="url")
    return UpstreamFailed(message, code=refused.reason)
