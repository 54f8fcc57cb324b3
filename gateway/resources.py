"""What lives for the whole process: the shared HTTP client, the media store, the router.

Created by the lifespan, put on ``app.state``, closed on shutdown; handlers get
them by injection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from config import Settings
from gateway.keys import CooldownPolicy
from gateway.media import MediaStore, open_store
from gateway.pipeline import ImagePipeline
from gateway.router import RetryPolicy, Router
from gateway.streaming import BackgroundWork

SHUTDOWN_GRACE_SECONDS = 30.0


@dataclass(slots=True)
class Resources:
    client: httpx.AsyncClient
    store: MediaStore
    router: Router
    pipeline: ImagePipeline
    background: BackgroundWork


def build_resources(settings: Settings, client: httpx.AsyncClient) -> Resources:
    router = Router(
        settings.vendor_groups,
        client,
        policy=RetryPolicy(
            max_attempts=settings.max_attempts,
            rounds=settings.retry_rounds,
            deadline=settings.request_deadline_seconds,
            attempt_timeout=settings.vendor_timeout_seconds,
            backoff=settings.retry_backoff_seconds,
            route_unhealthy=settings.route_unhealthy_seconds,
        ),
        cooldowns=CooldownPolicy(
            rate_limited=settings.key_cooldown_seconds,
            rate_limited_max=settings.key_cooldown_max_seconds,
            exhausted=settings.key_quota_cooldown_seconds,
            dead=settings.key_dead_seconds,
        ),
    )
    store = open_store(settings.media_store, memory_max_bytes=settings.media_memory_max_bytes)
    return Resources(client, store, router, ImagePipeline(router, store, client, settings), BackgroundWork())


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    timeout = httpx.Timeout(settings.vendor_timeout_seconds, connect=10.0)
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
    async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:
        resources = build_resources(settings, client)
        app.state.resources = resources
        try:
            yield
        finally:
            await resources.background.drain(SHUTDOWN_GRACE_SECONDS)


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def from_resources(name: str) -> Provide:
    """A dependency that hands handlers one of the process-wide resources by attribute name."""

    def provide(state: State) -> Any:
        return getattr(state.resources, name)

    return Provide(provide, sync_to_thread=False)
