"""One picture idea in, stored images out: parse the size, route to a vendor, re-host the results.

The chat and images endpoints both call this; it knows nothing of HTTP on the
client side, only of the vendors and the store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from config import Settings
from gateway.errors import InvalidRequest, UpstreamFailed
from gateway.fetch import FetchRefused, ImageFetcher
from gateway.media import MediaStore, StoredImage, sniff
from gateway.prompt import ParsedPrompt, parse_prompt
from gateway.router import Router
from gateway.signing import LinkSigner, SignedLink
from providers import ImageJob, ImageResult

Picture = StoredImage | SignedLink
"""A result as clients get it: a stored copy, or (``MEDIA_MODE=link``) a signed link stored on first hit."""

log = structlog.get_logger("gateway.pipeline")


@dataclass(frozen=True, slots=True)
class Produced:
    """What a request produced: the stored images and the prompt and size that made them."""

    images: list[Picture]
    prompt: str
    width: int
    height: int
    route: str
    attempts: int


class ImagePipeline:
    def __init__(
        self,
        router: Router,
        store: MediaStore,
        fetcher: ImageFetcher,
        signer: LinkSigner,
        settings: Settings,
    ) -> None:
        self.router = router
        self._store = store
        self._fetcher = fetcher
        self._signer = signer
        self._settings = settings

    def prepare(self, model: str, idea: str, *, param: str = "prompt") -> ParsedPrompt:
        """Check the model and read the size out of the idea, before any vendor is called."""
        self.router.routes_for(model)
        parsed = parse_prompt(idea, self._settings.aspect_ratios, self._settings.default_size)
        if not parsed.text:
            raise InvalidRequest("the prompt is empty: describe the picture you want", param=param)
        return parsed

    async def produce(self, model: str, parsed: ParsedPrompt) -> Produced:
        """Images for a prepared prompt, stored before this returns."""
        structlog.contextvars.bind_contextvars(model=model, size=f"{parsed.width}x{parsed.height}")
        job = ImageJob(prompt=parsed.text, width=parsed.width, height=parsed.height, model=model)
        generated = await self.router.generate(model, job)
        images = await asyncio.gather(*(self.keep(result) for result in generated.results))
        return Produced(
            list(images), parsed.text, parsed.width, parsed.height, generated.route.name, generated.attempts
        )

    async def keep(self, result: ImageResult) -> Picture:
        """Store one vendor result (downloading it if it is a link); the stored copy is what clients get.

        In link mode a vendor URL is not downloaded now: the client gets a signed
        link, and the first hit on it downloads and stores the image.
        """
        if result.data is not None:
            data, kind = result.data, sniff(result.data)
            if kind is None:
                raise UpstreamFailed("the vendor returned data that is not a PNG, JPEG, WebP, GIF or AVIF image")
        else:
            assert result.url is not None
            if self._settings.media_mode == "link":
                return self._signer.sign(result.url)
            try:
                data, kind = await self._fetcher.fetch(result.url)
            except FetchRefused as refused:
                message = f"the vendor's image could not be kept: {refused.message}"
                raise UpstreamFailed(message, code=refused.reason) from None
        image = await self._store.put(data, kind)
        log.info("media.stored", image=image.name, bytes=image.size)
        return image
