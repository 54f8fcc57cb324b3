"""One picture idea in, stored images out: parse the size, route to a vendor, re-host the results.

The chat and images endpoints both call this; it knows nothing of HTTP on the
client side, only of the vendors and the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from config import Settings
from gateway.errors import InvalidRequest, UpstreamFailed
from gateway.fetch import FetchRefused, ImageFetcher
from gateway.media import MediaStore, StoredImage, sniff
from gateway.prompt import ParsedPrompt, parse_prompt
from gateway.rewrite import PromptRewriter, Rewrite
from gateway.router import Router
from gateway.signing import LinkSigner, SignedLink
from providers import ImageJob, ImageResult

Listener = Callable[[str], None]
Picture = StoredImage | SignedLink
"""A result as clients get it: a stored copy, or (``MEDIA_MODE=link``) a signed link stored on first hit."""

log = structlog.get_logger("gateway.pipeline")


@dataclass(frozen=True, slots=True)
class Produced:
    """What a request produced: the stored images and the prompt and size that made them."""

    images: list[Picture]
    prompt: str
    """The prompt the vendor was sent: rewritten, or the user's own."""
    width: int
    height: int
    route: str
    attempts: int
    reasoning: str = ""
    """The rewriting LLM's thinking, in reasoning mode."""


class ImagePipeline:
    def __init__(
        self,
        router: Router,
        store: MediaStore,
        fetcher: ImageFetcher,
        signer: LinkSigner,
        settings: Settings,
        rewriter: PromptRewriter | None = None,
    ) -> None:
        self.router = router
        self.rewriter = rewriter
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

    async def produce(
        self, model: str, parsed: ParsedPrompt, *, rewrite: bool = True, on_reasoning: Listener | None = None
    ) -> Produced:
        """Images for a prepared prompt (rewritten first unless ``rewrite`` is off), stored before this returns.

        The size was read from the user's words in ``prepare``; the rewritten
        prompt never changes it.
        """
        structlog.contextvars.bind_contextvars(model=model, size=f"{parsed.width}x{parsed.height}")
        rewritten = await self.rewritten(parsed, rewrite=rewrite, on_reasoning=on_reasoning)
        job = ImageJob(prompt=rewritten.prompt, width=parsed.width, height=parsed.height, model=model)
        generated = await self.router.generate(model, job)
        images = await asyncio.gather(*(self.keep(result) for result in generated.value))
        return Produced(
            images=list(images),
            prompt=rewritten.prompt,
            width=parsed.width,
            height=parsed.height,
            route=generated.route.name,
            attempts=generated.attempts,
            reasoning=rewritten.reasoning,
        )

    async def rewritten(
        self, parsed: ParsedPrompt, *, rewrite: bool = True, on_reasoning: Listener | None = None
    ) -> Rewrite:
        """The prompt to send: through the rewriting LLM when it is configured and wanted, else as written."""
        if self.rewriter is None or not rewrite or parsed.verbatim:
            return Rewrite(parsed.text)
        return await self.rewriter.rewrite(parsed.text, on_reasoning=on_reasoning)

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
