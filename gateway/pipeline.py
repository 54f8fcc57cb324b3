"""One picture idea in, stored images out: parse the size, rewrite, route to vendors, re-host the results.

The chat and images endpoints both call this; it knows nothing of HTTP on the
client side, only of the vendors and the store. ``n`` pictures are ``n``
concurrent vendor calls, each failing over on its own (the key rotation
spreads them over the keys); the ones that succeed are kept even when others
fail for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from config import Settings
from gateway.errors import ApiError, InvalidRequest, UpstreamFailed
from gateway.fetch import FetchRefused, ImageFetcher
from gateway.image_options import MAX_TEXT, Extras
from gateway.media import ImageTooLarge, MediaStore, StoredImage, sniff
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
    """What a request produced: the stored images, the prompt that made them, and who made them."""

    images: list[Picture]
    prompt: str
    """The prompt the vendor was sent: rewritten, or the user's own."""
    routes: list[str]
    """The routes that delivered, in order, without repeats."""
    attempts: int
    """Vendor calls it took to make the pictures delivered, retries included."""
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
        if len(idea) > MAX_TEXT:
            raise InvalidRequest(f"the prompt is longer than {MAX_TEXT} characters", param=param)
        parsed = parse_prompt(idea, self._settings.aspect_ratios, self._settings.default_size)
        if not parsed.text:
            raise InvalidRequest("the prompt is empty: describe the picture you want", param=param)
        return parsed

    async def produce(
        self,
        model: str,
        parsed: ParsedPrompt,
        *,
        n: int = 1,
        extras: Extras | None = None,
        rewrite: bool = True,
        on_reasoning: Listener | None = None,
    ) -> Produced:
        """``n`` pictures for a prepared prompt (rewritten first unless ``rewrite`` is off), stored before this returns.

        The size was read from the user's words (or fields) before; the
        rewritten prompt never changes it. With a seed and ``n`` > 1, picture
        ``i`` gets ``seed + i`` so the pictures differ but stay reproducible.
        """
        extras = extras or Extras()
        structlog.contextvars.bind_contextvars(model=model, size=f"{parsed.width}x{parsed.height}", n=n)
        self._note_ignored_extras(model, extras)
        rewritten = await self.rewritten(parsed, rewrite=rewrite, on_reasoning=on_reasoning)
        jobs = [
            ImageJob(
                prompt=rewritten.prompt,
                width=parsed.width,
                height=parsed.height,
                model=model,
                seed=None if extras.seed is None else extras.seed + index,
                steps=extras.steps,
                negative_prompt=extras.negative_prompt,
                guidance=extras.guidance,
                variant=index,
                max_image_bytes=self._settings.media_max_bytes,
            )
            for index in range(n)
        ]
        made = await self._fan_out(model, jobs)
        return Produced(
            images=[picture for pictures, _, _ in made for picture in pictures],
            prompt=rewritten.prompt,
            routes=list(dict.fromkeys(route for _, route, _ in made)),
            attempts=sum(attempts for _, _, attempts in made),
            reasoning=rewritten.reasoning,
        )

    async def _fan_out(self, model: str, jobs: list[ImageJob]) -> list[tuple[list[Picture], str, int]]:
        """Every job at once; what succeeded (stored), or the error of the call that failed last if none did."""
        failures: list[ApiError] = []

        async def one(job: ImageJob) -> tuple[list[Picture], str, int] | None:
            try:
                generated = await self.router.generate(model, job)
                pictures = await asyncio.gather(*(self.keep(result) for result in generated.value))
            except ApiError as error:
                failures.append(error)
                return None
            return list(pictures), generated.route.name, generated.attempts

        if len(jobs) == 1:  # in this task, so the router's log context (route, key, attempts) reaches the request log
            outcomes = [await one(jobs[0])]
        else:
            outcomes = await asyncio.gather(*(one(job) for job in jobs))
        made = [outcome for outcome in outcomes if outcome is not None]
        if not made:
            raise failures[-1]
        if failures:
            log.warning("images.partial", made=len(made), failed=len(failures), last_error=failures[-1].message)
        if len(jobs) > 1:
            routes = ",".join(dict.fromkeys(route for _, route, _ in made))
            structlog.contextvars.bind_contextvars(route=routes, attempts=sum(tries for _, _, tries in made))
        return made

    def _note_ignored_extras(self, model: str, extras: Extras) -> None:
        given = extras.given()
        if not given:
            return
        for route in self.router.routes_for(model):
            ignored = sorted(given - route.provider.extras(route.vendor_model))
            if ignored:
                log.info("job.extras_ignored", route=route.name, fields=ignored)

    def size_multiple(self, model: str) -> int:
        """The strictest side multiple among the vendors that serve ``model``."""
        return max(route.provider.size_multiple for route in self.router.routes_for(model))

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
        try:
            image = await self._store.put(data, kind)
        except ImageTooLarge as error:
            raise UpstreamFailed(f"the image could not be kept: {error}", code="store_too_small") from None
        log.info("media.stored", image=image.name, bytes=image.size)
        return image
