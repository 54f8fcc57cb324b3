"""Model -> routes, and the failover loop that walks them.

A public model may be served by several vendor groups: its routes are tried in
group order (healthy routes first), each through its group's key rotation. The
ProviderError class decides what happens to the key and whether to try the next
key, the next route, or to stop. When a whole pass fails on vendor errors, the
pass is repeated with backoff and jitter (tenacity), bounded by a count of
attempts and an overall deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from config import VendorGroup
from gateway import metrics
from gateway.errors import InvalidRequest, ModelNotFound, NoCapacity, UpstreamFailed, VendorRejected
from gateway.keys import Clock, CooldownPolicy, Key, KeyPool
from providers import (
    PROVIDERS,
    ImageJob,
    ImageResult,
    MalformedReply,
    NextStep,
    Provider,
    ProviderError,
    VendorUnavailable,
    seed_for,
)

log = structlog.get_logger("gateway.router")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of one request's walk over the routes."""

    max_attempts: int = 8
    rounds: int = 3
    deadline: float = 120.0
    attempt_timeout: float = 90.0
    backoff: float = 0.5
    route_unhealthy: float = 10.0


@dataclass(slots=True)
class Route:
    """One way to serve a public model: a vendor group and the vendor's id for the model."""

    group: VendorGroup
    public_model: str
    vendor_model: str
    provider: Provider
    pool: KeyPool
    unhealthy_until: float = 0.0
    failures_in_a_row: int = 0
    """Vendor-side failures since the route last delivered: readiness counts a route past FAILING_AFTER as failing."""
    last_failure: str = ""

    @property
    def name(self) -> str:
        return f"{self.group.name}:{self.vendor_model}"

    @property
    def can_edit(self) -> bool:
        """Takes an input picture: the group's ``IMAGE_GEN_EDIT_MODELS_n`` when set, else the adapter's table."""
        if self.group.edit_models is not None:
            return self.public_model in self.group.edit_models
        return self.provider.can_edit(self.vendor_model)


T = TypeVar("T")
Attempt = Callable[[Route, Key], Awaitable[T]]
"""One try of a call through one route with one key; raises a ProviderError when it fails."""
Listener = Callable[[str], None]
"""Told, in a sentence a user may read, each time an attempt fails and what the router does next."""
NEXT_STEP_WORDS = {
    NextStep.NEXT_KEY: "trying another key",
    NextStep.NEXT_ROUTE: "trying the next vendor",
    NextStep.SKIP_ROUTE: "trying the next vendor",
}


@dataclass(frozen=True, slots=True)
class Delivered(Generic[T]):
    """What the first successful attempt returned, where, and after how many tries."""

    value: T
    route: Route
    attempts: int


Generated = Delivered[list[ImageResult]]


class PassFailed(Exception):
    """Every route failed in one pass on vendor-side errors: worth another pass after a backoff."""


@dataclass(slots=True)
class _Walk:
    """What one request has seen so far."""

    deadline: float
    attempts: int = 0
    last_error: ProviderError | None = None
    vendor_failed: bool = False
    busy: bool = False
    """Some route was skipped because our own queue for its vendor was full."""
    listener: Listener | None = None


class Router:
    def __init__(
        self,
        groups: Sequence[VendorGroup],
        client: httpx.AsyncClient,
        *,
        policy: RetryPolicy,
        cooldowns: CooldownPolicy,
        clock: Clock = time.monotonic,
    ) -> None:
        self._client = client
        self._policy = policy
        self.created = int(time.time())
        self._clock = clock
        self.pools = {group.name: KeyPool(group.keys, cooldowns, clock) for group in groups}
        self.on_route_change: Callable[[Route], None] | None = None
        """Told when a route turns unhealthy or delivers again (shared state publishes it to other replicas)."""
        self.groups = list(groups)
        self.routes: dict[str, list[Route]] = {}
        for group in sorted(groups, key=lambda g: g.order):
            for alias in group.models:
                route = Route(group, alias.public, alias.vendor, PROVIDERS[group.type], self.pools[group.name])
                self.routes.setdefault(alias.public, []).append(route)

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    @property
    def models(self) -> list[str]:
        return list(self.routes)

    def routes_for(self, model: str) -> list[Route]:
        routes = self.routes.get(model)
        if not routes:
            available = ", ".join(self.routes)
            raise ModelNotFound(f"model '{model}' does not exist; available models: {available}", param="model")
        return routes

    def edit_routes_for(self, model: str) -> list[Route]:
        """The routes of ``model`` that take an input picture; a 400 naming the models that do when it has none."""
        routes = [route for route in self.routes_for(model) if route.can_edit]
        if not routes:
            able = [name for name, served in self.routes.items() if any(route.can_edit for route in served)]
            which = f"models that can: {', '.join(able)}" if able else "no configured model can"
            raise InvalidRequest(f"model '{model}' cannot edit pictures; {which}", param="model")
        return routes

    def is_healthy(self, route: Route) -> bool:
        return route.unhealthy_until <= self._clock()

    async def generate(self, model: str, job: ImageJob, *, listener: Listener | None = None) -> Generated:
        """Images for ``job`` from the first route and key that deliver; raises an ApiError when none does."""

        async def attempt(route: Route, key: Key) -> list[ImageResult]:
            vendor_job = dataclasses.replace(job, model=route.vendor_model, seed=seed_for(job, route.provider))
            return await route.provider.generate(
                vendor_job, base_url=route.group.api_base, key=key.value, client=self._client
            )

        routes = self.edit_routes_for(model) if job.edit is not None else self.routes_for(model)
        return await self.run(routes, attempt, listener=listener)

    async def run(self, routes: list[Route], attempt: Attempt[T], *, listener: Listener | None = None) -> Delivered[T]:
        """``attempt`` through the routes and their keys under the failover rules; an ApiError when none delivers."""
        walk = _Walk(deadline=self._clock() + self._policy.deadline, listener=listener)
        try:
            return await self._one_pass(routes, attempt, walk)  # most requests end here: no retry machinery (20 us)
        except PassFailed:
            pass
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.rounds) | stop_after_delay(self._policy.deadline),
            wait=wait_exponential(multiplier=self._policy.backoff, max=10) + wait_random(0, self._policy.backoff),
            retry=retry_if_exception_type(PassFailed),
            before_sleep=lambda state: self._tell_retry(walk, state.upcoming_sleep),
            reraise=True,
        )
        try:
            async for retry_round in retrying:
                with retry_round:
                    if retry_round.retry_state.attempt_number == 1:
                        raise PassFailed  # the round that just failed: counted, and waited after like any other
                    return await self._one_pass(routes, attempt, walk)
        except PassFailed:
            pass
        raise self._final_error(routes, walk)

    async def _one_pass(self, routes: list[Route], attempt: Attempt[T], walk: _Walk) -> Delivered[T]:
        ordered = sorted(routes, key=lambda route: not self.is_healthy(route))
        for route in ordered:
            for key in route.pool.rotation():
                if walk.attempts >= self._policy.max_attempts or self._clock() >= walk.deadline:
                    raise self._final_error(routes, walk)
                walk.attempts += 1
                try:
                    value = await self._timed(attempt, route, key, walk)
                except ProviderError as error:
                    walk.last_error = error
                    self._record_failure(route, key, error, walk)
                    if walk.listener is not None and error.next_step in NEXT_STEP_WORDS:
                        walk.listener(f"{route.name} failed ({error.message}); {NEXT_STEP_WORDS[error.next_step]}.")
                    if error.next_step is NextStep.STOP:
                        raise VendorRejected(error.message, param="prompt") from None
                    if error.next_step is NextStep.NEXT_ROUTE:
                        walk.vendor_failed = True
                        route.unhealthy_until = self._clock() + self._policy.route_unhealthy
                        if self.on_route_change is not None:
                            self.on_route_change(route)
                        break
                    if error.next_step is NextStep.SKIP_ROUTE:
                        walk.busy = True
                        break
                    continue
                route.pool.report_success(key)
                metrics.VENDOR_ATTEMPTS.labels(route.name, "ok").inc()
                if route.unhealthy_until or route.failures_in_a_row:
                    route.unhealthy_until = 0.0
                    route.failures_in_a_row = 0
                    if self.on_route_change is not None:
                        self.on_route_change(route)
                structlog.contextvars.bind_contextvars(route=route.name, key=key.fingerprint, attempts=walk.attempts)
                return Delivered(value, route, walk.attempts)
        if walk.vendor_failed:
            raise PassFailed
        raise self._final_error(routes, walk)

    async def _timed(self, attempt: Attempt[T], route: Route, key: Key, walk: _Walk) -> T:
        budget = min(self._policy.attempt_timeout, walk.deadline - self._clock())
        try:
            async with asyncio.timeout(budget):
                return await attempt(route, key)
        except TimeoutError:
            raise VendorUnavailable(f"the vendor did not answer within {budget:.0f} s") from None
        except ProviderError:
            raise
        except Exception as error:  # an adapter tripped over a reply it did not expect: that vendor's fault
            log.warning("vendor.adapter_failed", route=route.name, error=type(error).__name__, exc_info=error)
            raise MalformedReply("the vendor's reply could not be read", detail=type(error).__name__) from error

    @staticmethod
    def _tell_retry(walk: _Walk, wait: float) -> None:
        if walk.listener is not None and walk.attempts:  # the first "round" is the pass that already ran
            walk.listener(f"Every vendor failed; trying them all again in {wait:.1f} s.")

    def _record_failure(self, route: Route, key: Key, error: ProviderError, walk: _Walk) -> None:
        route.pool.report_failure(key, error.key_verdict, error.retry_after)
        metrics.VENDOR_ATTEMPTS.labels(route.name, error.reason).inc()
        if error.next_step is NextStep.NEXT_ROUTE:
            route.failures_in_a_row += 1
            route.last_failure = error.message
        log.warning(
            "vendor.attempt_failed",
            route=route.name,
            key=key.fingerprint,
            attempt=walk.attempts,
            reason=error.reason,
            vendor_status=error.vendor_status,
            retry_after=error.retry_after,
            detail=error.detail[:300] or error.message,
        )

    def _final_error(self, routes: list[Route], walk: _Walk) -> NoCapacity | UpstreamFailed:
        """503 with Retry-After when keys are only cooling; else 502 naming the last vendor failure."""
        structlog.contextvars.bind_contextvars(attempts=walk.attempts)
        waits = [wait for route in routes if (wait := route.pool.seconds_until_available()) is not None]
        if not walk.vendor_failed and walk.busy:
            message = "every vendor for this model has a full queue of requests; retry later"
            return NoCapacity(message, retry_after=1.0, code="vendor_queue_full")
        if not walk.vendor_failed and waits:
            return NoCapacity(
                "every key for this model is rate-limited or out of quota; retry later",
                retry_after=max(1.0, min(waits)),
            )
        if self._clock() >= walk.deadline:
            return UpstreamFailed(f"no vendor delivered within {self._policy.deadline:.0f} s")
        if walk.last_error is None:
            return UpstreamFailed("no vendor key is usable for this model")
        return UpstreamFailed(
            f"every vendor for this model failed; last error: {walk.last_error.message} ({walk.last_error.reason})"
        )
