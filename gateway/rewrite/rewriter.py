"""``PromptRewriter``: a short idea in, a 30-50 word English image prompt out, never an error.

The LLM is a one-group Router of its own, so ``OPENAI_API_KEY``'s keys rotate,
cool down and fail over exactly like an image vendor's. Whatever goes wrong
(every key failing, an unusable answer, ``REWRITE_TIMEOUT`` passing), the
user's own prompt is used and the request goes on; the failure is logged.
A change to the previous picture of a chat is a rewrite too, with its own
instructions and the previous prompt. Answers are cached by (mode, model,
idea or previous prompt and change) for a while, and concurrent identical
requests share one LLM call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import structlog
from cachetools import TTLCache

from config import Settings, VendorGroup
from config.groups import parse_models
from gateway import metrics
from gateway.errors import ApiError
from gateway.keys import CooldownPolicy, Key
from gateway.rewrite import llm
from gateway.rewrite.instructions import Mode, change_conversation, conversation
from gateway.rewrite.reply import Rewrite, ThinkSplitter, UnusableReply, parse_reply
from gateway.rewrite.shared import SharedRewrites
from gateway.router import Attempt, RetryPolicy, Route, Router
from gateway.singleflight import SingleFlight
from providers import MalformedReply

log = structlog.get_logger("gateway.rewrite")

T = TypeVar("T")
Listener = Callable[[str], None]
FAST_MAX_TOKENS = 300
TEMPERATURE = 0.7
GROUP_NAME = "rewrite"


class PromptRewriter:
    def __init__(
        self,
        *,
        mode: Mode,
        model: str,
        api_base: str,
        router: Router,
        timeout: float,
        cache: TTLCache[Any, Rewrite] | None,
    ) -> None:
        self.mode = mode
        self.model = model
        self._url = llm.chat_url(api_base)
        self._router = router
        self._timeout = timeout
        self._cache = cache
        self._flights: SingleFlight[tuple[str, ...], Rewrite] = SingleFlight()
        self.shared: SharedRewrites | None = None
        """The cache and single flight of every replica (``REDIS_URL``), set once shared state is up."""

    @property
    def router(self) -> Router:
        return self._router

    async def rewrite(self, idea: str, *, on_reasoning: Listener | None = None) -> Rewrite:
        """The rewritten prompt, or ``Rewrite(idea)`` when rewriting fails; thinking goes to ``on_reasoning`` live."""
        return await self._cached((self.mode, self.model, idea), conversation(self.mode, idea), idea, on_reasoning)

    async def refine(
        self, previous: str, change: str, *, fallback: str, on_reasoning: Listener | None = None
    ) -> Rewrite:
        """The previous prompt with ``change`` applied, written by the LLM; ``Rewrite(fallback)`` when that fails."""
        key = (self.mode, self.model, previous, change)
        return await self._cached(key, change_conversation(self.mode, previous, change), fallback, on_reasoning)

    async def _cached(
        self, key: tuple[str, ...], messages: list[dict[str, str]], fallback: str, on_reasoning: Listener | None
    ) -> Rewrite:
        """One cached, shared LLM call for ``messages``; ``Rewrite(fallback)`` when it fails."""
        cached = self._cache.get(key) if self._cache is not None else None
        if cached is None and self.shared is not None:
            cached = await self.shared.get(key)
            if cached is not None and self._cache is not None:
                self._cache[key] = cached
        if cached is not None:
            metrics.REWRITE_CACHE.labels("hit").inc()
            log.info("rewrite.cache_hit", mode=self.mode)
            return cached
        metrics.REWRITE_CACHE.labels("miss").inc()
        started = time.perf_counter()
        result = await self._bounded(
            "rewrite.failed", lambda: self._flights.run(key, lambda: self._asked_once(key, messages, on_reasoning))
        )
        if result is None:
            return Rewrite(fallback)
        if self._cache is not None:
            self._cache[key] = result
        log.info("rewrite.done", mode=self.mode, words=len(result.prompt.split()), ms=_ms(started))
        return result

    async def _asked_once(
        self, key: tuple[str, ...], messages: list[dict[str, str]], on_reasoning: Listener | None
    ) -> Rewrite:
        """The LLM's answer, asked by one process of all replicas when they share state."""
        if self.shared is None:
            return await self._ask(messages, on_reasoning)
        return await self.shared.once(key, lambda: self._ask(messages, on_reasoning))

    async def ask(self, messages: list[dict[str, str]]) -> str | None:
        """A free-form question on the same keys and deadline (a chat UI's side request); None when it fails."""

        async def attempt(route: Route, key: Key) -> str:
            payload = {"model": route.vendor_model, "messages": messages}
            reply = await llm.complete(self._router.client, self._url, key=key.value, payload=payload)
            return reply.content

        return await self._bounded("rewrite.ask_failed", lambda: self._run(attempt))

    async def _bounded(self, failure_event: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """``call()`` within REWRITE_TIMEOUT; None (and a log line) when it fails or runs out of time."""
        try:
            async with asyncio.timeout(self._timeout):
                return await call()
        except TimeoutError:
            log.warning(failure_event, reason="timeout", seconds=self._timeout)
        except ApiError as error:
            log.warning(failure_event, reason=error.specific_code or error.code, message=error.message)
        return None

    async def _run(self, attempt: Attempt[T]) -> T:
        """``attempt`` through the LLM's keys under the failover rules."""
        return (await self._router.run(self._router.routes_for(self.model), attempt)).value

    async def _ask(self, messages: list[dict[str, str]], on_reasoning: Listener | None) -> Rewrite:
        payload: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.mode == "fast":
            payload |= {"max_tokens": FAST_MAX_TOKENS, "temperature": TEMPERATURE}

        async def attempt(route: Route, key: Key) -> Rewrite:
            body = payload | {"model": route.vendor_model}
            if on_reasoning is None:
                reply = await llm.complete(self._router.client, self._url, key=key.value, payload=body)
                return _usable(reply.content, reply.reasoning)
            return await self._streamed(body, key, on_reasoning)

        return await self._run(attempt)

    async def _streamed(self, payload: dict[str, Any], key: Key, on_reasoning: Listener) -> Rewrite:
        """One streamed attempt: thinking is passed on as it arrives, the answer is kept until the end."""
        splitter = ThinkSplitter()
        thinking: list[str] = []
        answer: list[str] = []

        def reasoning_field(text: str) -> None:
            thinking.append(text)
            on_reasoning(text)

        def content(text: str) -> None:
            inline, said = splitter.feed(text)
            if inline:
                reasoning_field(inline)
            answer.append(said)

        await llm.stream(
            self._router.client,
            self._url,
            key=key.value,
            payload=payload,
            on_reasoning=reasoning_field,
            on_content=content,
        )
        inline, said = splitter.finish()
        if inline:
            reasoning_field(inline)
        answer.append(said)
        if splitter.unclosed:
            raise MalformedReply("the model's thinking never closed (</think> is missing)")
        return _usable("".join(answer), "".join(thinking))


def _usable(content: str, reasoning: str) -> Rewrite:
    try:
        return parse_reply(content, reasoning)
    except UnusableReply as error:
        raise MalformedReply(str(error)) from None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def build_rewriter(settings: Settings, client: httpx.AsyncClient, cooldowns: CooldownPolicy) -> PromptRewriter | None:
    """The rewriter ``OPENAI_*`` describe, or None when rewriting is not configured."""
    model = settings.rewrite_model
    if model is None or settings.openai_api_base is None:
        return None
    group = VendorGroup(
        name=GROUP_NAME,
        order=0,
        type="chat",
        api_base=settings.openai_api_base,
        keys=tuple(settings.openai_api_key),
        models=parse_models(model, "OPENAI_MODEL"),
    )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        rounds=2,  # an unusable answer (unclosed thinking) gets one more try, on the next key
        deadline=settings.rewrite_timeout,
        attempt_timeout=settings.rewrite_timeout,
        backoff=0.0,
        route_unhealthy=0.0,
    )
    router = Router([group], client, policy=policy, cooldowns=cooldowns)
    cache: TTLCache[Any, Rewrite] | None = None
    if settings.rewrite_cache_size and settings.rewrite_cache_seconds:
        cache = TTLCache(maxsize=settings.rewrite_cache_size, ttl=settings.rewrite_cache_seconds)
    return PromptRewriter(
        mode=settings.rewrite_mode,
        model=model,
        api_base=settings.openai_api_base,
        router=router,
        timeout=settings.rewrite_timeout,
        cache=cache,
    )
