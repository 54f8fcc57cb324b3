"""One picture idea in, stored images out: parse the size, rewrite, route to vendors, re-host the results.

The chat and images endpoints both call this; it knows nothing of HTTP on the
client side, only of the vendors and the store. ``n`` pictures are ``n``
concurrent vendor calls, each failing over on its own (the key rotation
spreads them over the keys); the ones that succeed are kept even when others
fail for good.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from config import Settings
from gateway import metrics
from gateway.errors import ApiError, UpstreamFailed
from gateway.fetch import FetchRefused, ImageFetcher
from gateway.fitting import Output, fitted
from gateway.image_options import Extras
from gateway.media import ImageTooLarge, MediaStore, StoredImage, sniff
from gateway.prompt import ParsedPrompt
from gateway.refinement import merge
from gateway.rewrite import PromptRewriter, Rewrite
from gateway.router import Router
from gateway.signing import LinkSigner, SignedLink
from providers import VARIATION_PROMPT, Edit, ImageJob, ImageResult, TokenUsage, seed_for

Listener = Callable[[str], None]
Picture = StoredImage | SignedLink
"""A result as clients get it: a stored copy, or (``MEDIA_MODE=link``) a signed link stored on first hit."""

log = structlog.get_logger("gateway.pipeline")
SEED_RANGE = 2**31 - 64
"""Seeds the gateway picks stay in a signed 32-bit int (the narrowest range vendors take), with room for ``n``."""


@dataclass(frozen=True, slots=True)
class Basis:
    """The earlier picture a request changes: the prompt that made it, and the seed to keep (None: a new one)."""

    prompt: str
    seed: int | None


@dataclass(frozen=True, slots=True)
class _Made:
    """One job's outcome: its stored pictures, the route that served it, the calls it took and its seed."""

    pictures: list[Picture]
    route: str
    attempts: int
    seed: int | None
    usage: TokenUsage | None = None


@dataclass(frozen=True, slots=True)
class Produced:
    """What a request produced: the stored images, the prompt, size and seeds that made them, and who made them."""

    images: list[Picture]
    prompt: str
    """The prompt the vendor was sent: rewritten, or the user's own."""
    width: int
    height: int
    seeds: list[int | None]
    """The seed each image was made with, in order; None where the vendor was sent none."""
    image_routes: list[str]
    """The route that made each image, in order."""
    image_usages: list[TokenUsage | None]
    """What the vendor reported for each image (a call's usage split over its pictures); None where it did not."""
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

    async def produce(
        self,
        model: str,
        parsed: ParsedPrompt,
        *,
        n: int = 1,
        extras: Extras | None = None,
        rewrite: bool = True,
        basis: Basis | None = None,
        edit: Edit | None = None,
        output: Output | None = None,
        on_reasoning: Listener | None = None,
        on_progress: Listener | None = None,
    ) -> Produced:
        """``n`` pictures for a prompt (rewritten first unless ``rewrite`` is off), stored before this returns.

        The size was read from the user's words (or fields) before; the
        rewritten prompt never changes it. With ``basis``, ``parsed`` is a
        change to an earlier picture's prompt (empty: the same prompt again).
        The seed is the client's, else the basis's (a change keeps the
        composition), else a new one per request, so asking again gives a new
        picture; picture ``i`` of ``n`` gets ``seed + i``. With ``edit`` the
        pictures start from its input (only routes that can edit are tried), and
        an edit's own instruction is sent as written. Every result is fitted to
        ``output`` (the asked size by default) before it is stored.
        """
        extras = extras or Extras()
        structlog.contextvars.bind_contextvars(model=model, size=f"{parsed.width}x{parsed.height}", n=n)
        self._note_ignored_extras(model, extras)
        heard: list[str] = []

        def relay(text: str) -> None:
            heard.append(text)
            if on_reasoning is not None:
                on_reasoning(text)

        listener = None if on_reasoning is None else relay  # a listener makes the LLM call a streamed one
        rewrite = rewrite and (edit is None or basis is not None)
        rewritten = await self.rewritten(parsed, rewrite=rewrite, basis=basis, on_reasoning=listener)
        if rewritten.reasoning and not heard and on_reasoning is not None:
            on_reasoning(rewritten.reasoning)  # from the cache, or a request that shared another's call
        if edit is not None and edit.variation and not rewritten.prompt:
            rewritten = Rewrite(VARIATION_PROMPT)
        # An edit of the previous picture is sent the user's change as the instruction ("make it at night"); the
        # merged description is what the answer records, for the next turn to change again.
        instruction = parsed.text if edit is not None and basis is not None and parsed.text else rewritten.prompt
        if on_progress is not None:
            on_progress(f"Prompt: {rewritten.prompt}")
            if instruction != rewritten.prompt:
                on_progress(f"Edit: {instruction}")
        seed = extras.seed if extras.seed is not None else basis.seed if basis and basis.seed is not None else None
        seed = secrets.randbelow(SEED_RANGE) if seed is None else seed
        jobs = [
            ImageJob(
                prompt=instruction,
                width=parsed.width,
                height=parsed.height,
                model=model,
                seed=seed + index,
                seed_from_gateway=extras.seed is None,
                edit=edit,
                steps=extras.steps,
                negative_prompt=extras.negative_prompt,
                guidance=extras.guidance,
                variant=index,
                max_image_bytes=self._settings.media_max_bytes,
            )
            for index in range(n)
        ]
        output = output or Output(parsed.width, parsed.height)
        made = await self._fan_out(model, jobs, output, on_progress)
        return Produced(
            images=[picture for one in made for picture in one.pictures],
            prompt=rewritten.prompt,
            width=parsed.width,
            height=parsed.height,
            seeds=[one.seed for one in made for _ in one.pictures],
            image_routes=[one.route for one in made for _ in one.pictures],
            image_usages=[_share(one.usage, len(one.pictures)) for one in made for _ in one.pictures],
            routes=list(dict.fromkeys(one.route for one in made)),
            attempts=sum(one.attempts for one in made),
            reasoning=rewritten.reasoning,
        )

    async def _fan_out(
        self, model: str, jobs: list[ImageJob], output: Output, on_progress: Listener | None
    ) -> list[_Made]:
        """Every job at once; what succeeded (stored), or the error of the call that failed last if none did."""
        failures: list[ApiError] = []

        async def one(job: ImageJob) -> _Made | None:
            try:
                started = time.perf_counter()
                generated = await self.router.generate(model, job, listener=on_progress)
                metrics.GENERATION_SECONDS.labels(model).observe(time.perf_counter() - started)
                pictures = await asyncio.gather(*(self.keep(result, output) for result in generated.value))
            except ApiError as error:
                failures.append(error)
                return None
            seed = seed_for(job, generated.route.provider)
            usages = [result.usage for result in generated.value if result.usage is not None]
            usage = sum(usages[1:], usages[0]) if usages else None
            return _Made(list(pictures), generated.route.name, generated.attempts, seed, usage)

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
            routes = ",".join(dict.fromkeys(one.route for one in made))
            structlog.contextvars.bind_contextvars(route=routes, attempts=sum(one.attempts for one in made))
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
        self,
        parsed: ParsedPrompt,
        *,
        rewrite: bool = True,
        basis: Basis | None = None,
        on_reasoning: Listener | None = None,
    ) -> Rewrite:
        """The prompt to send: through the rewriting LLM when it is configured and wanted, else as written.

        A change to an earlier picture goes to the LLM with that picture's
        prompt; without one (or when it fails) the change is merged into it.
        """
        use_llm = self.rewriter is not None and rewrite and not parsed.verbatim
        if basis is None:
            if self.rewriter is None or not use_llm:
                return Rewrite(parsed.text)
            return await self.rewriter.rewrite(parsed.text, on_reasoning=on_reasoning)
        if not parsed.text:
            return Rewrite(basis.prompt)
        merged = merge(basis.prompt, parsed.text)
        log.info("prompt.refined", merged_words=len(merged.split()), llm=use_llm)
        if self.rewriter is None or not use_llm:
            return Rewrite(merged)
        return await self.rewriter.refine(basis.prompt, parsed.text, fallback=merged, on_reasoning=on_reasoning)

    async def keep(self, result: ImageResult, output: Output) -> Picture:
        """Store one vendor result (downloading it if it is a link), fitted to ``output``; the stored copy is what
        clients get.

        In link mode a vendor URL is not downloaded now: the client gets a signed
        link, and the first hit on it downloads and stores the image as it is.
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
        data, kind = await fitted(data, kind, output, fit_size=self._settings.fit_to_size)
        try:
            image = await self._store.put(data, kind)
        except ImageTooLarge as error:
            raise UpstreamFailed(f"the image could not be kept: {error}", code="store_too_small") from None
        metrics.STORED_BYTES.inc(image.size)
        log.info("media.stored", image=image.name, bytes=image.size)
        return image


def _share(usage: TokenUsage | None, pictures: int) -> TokenUsage | None:
    """One picture's part of a call's usage."""
    if usage is None or pictures <= 0:
        return usage
    return TokenUsage(usage.input_tokens // pictures, usage.output_tokens // pictures)
