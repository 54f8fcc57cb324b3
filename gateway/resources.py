"""What lives for the whole process: the shared HTTP client, the media store, the router.

Created by the lifespan, put on ``app.state``, closed on shutdown; handlers get
them by injection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from config import Settings
from gateway.addresses import AddressGuard
from gateway.batches import Batches
from gateway.clients import Clients
from gateway.fetch import FetchPolicy, ImageFetcher, media_client
from gateway.input_images import InputPictures
from gateway.keys import CooldownPolicy
from gateway.limits import Limits
from gateway.media import MediaStore, open_store
from gateway.pipeline import ImagePipeline
from gateway.recording import Accounting
from gateway.records import Database, Journal, open_database
from gateway.remote_images import RemoteImages
from gateway.rewrite import build_rewriter
from gateway.rewrite.rewriter import PromptRewriter
from gateway.rewrite.shared import SharedRewrites
from gateway.router import RetryPolicy, Router
from gateway.shared_spending import SharedSpending
from gateway.shared_state import SharedState
from gateway.side_requests import SideRequests
from gateway.signing import LinkSigner, load_or_create_secret
from gateway.streaming import BackgroundWork
from gateway.templates import Templates
from gateway.transport import pooled_client
from gateway.webhooks import SECRET_FILE as WEBHOOK_SECRET_FILE
from gateway.webhooks import Webhooks

INJECTED = ("router", "store", "remote_images")
"""The resources a handler that needs only one may ask for by name; others take ``resources`` whole.

litestar resolves two or more dependencies of one handler concurrently, in an
anyio TaskGroup with a task each: measurable on every request (issue 9), so a
handler needing several takes the one ``Resources`` instead.
"""


@dataclass(slots=True)
class Resources:
    settings: Settings
    store: MediaStore
    router: Router
    pipeline: ImagePipeline
    remote_images: RemoteImages
    background: BackgroundWork
    side_requests: SideRequests
    inputs: InputPictures
    database: Database
    journal: Journal
    accounting: Accounting
    templates: Templates
    webhooks: Webhooks
    batches: Batches
    clients: Clients
    shared_state: SharedState | None


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        max_bytes=settings.media_max_bytes,
        deadline=settings.media_fetch_timeout_seconds,
        allow_private_networks=settings.media_allow_private_networks,
        max_connections=settings.media_max_downloads,
        max_queued=settings.vendor_max_queued,
    )


def vendor_client(settings: Settings) -> httpx.AsyncClient:
    """The client for vendor and LLM APIs: operator-configured hosts, so no address policy, but bounded queues."""
    return pooled_client(
        max_active=settings.vendor_max_connections,
        max_waiting=settings.vendor_max_queued,
        timeout=httpx.Timeout(settings.vendor_timeout_seconds, connect=10.0),
        headers={"Accept-Encoding": "gzip, deflate"},
    )


def webhooks(settings: Settings, media: httpx.AsyncClient) -> Webhooks:
    """Webhooks go out through the media client: the same address policy as every download."""
    secret = settings.webhook_secret
    return Webhooks(
        media,
        secret.get_secret_value().encode() if secret else load_or_create_secret(settings.data_dir, WEBHOOK_SECRET_FILE),
        AddressGuard(allow_private=settings.media_allow_private_networks),
        attempts=settings.webhook_attempts,
        backoff=settings.webhook_backoff_seconds,
    )


def shared_state(
    settings: Settings, router: Router, rewriter: PromptRewriter | None, limits: Limits
) -> SharedState | None:
    """Every key pool and route (vendors' and the rewriting LLM's) shared through Redis, when ``REDIS_URL`` is set."""
    if settings.redis_url is None:
        return None
    pools = [*router.pools.values(), *(rewriter.router.pools.values() if rewriter else [])]
    routers = [router, *([rewriter.router] if rewriter else [])]
    state = SharedState(settings.redis_url.get_secret_value(), pools, routers)
    if rewriter is not None:
        ttl = settings.rewrite_cache_seconds if settings.rewrite_cache_size else 0
        rewriter.shared = SharedRewrites(state, ttl=ttl, wait=settings.rewrite_timeout)
    limits.shared = SharedSpending(state)
    return state


def link_signer(settings: Settings) -> LinkSigner:
    secret = settings.image_proxy_secret
    return LinkSigner(secret.get_secret_value().encode() if secret else load_or_create_secret(settings.data_dir))


def build_resources(
    settings: Settings, client: httpx.AsyncClient, media: httpx.AsyncClient, database: Database
) -> Resources:
    """Everything handlers need; ``client`` talks to vendors, ``media`` downloads images under the fetch policy."""
    cooldowns = CooldownPolicy(
        rate_limited=settings.key_cooldown_seconds,
        rate_limited_max=settings.key_cooldown_max_seconds,
        exhausted=settings.key_quota_cooldown_seconds,
        dead=settings.key_dead_seconds,
    )
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
        cooldowns=cooldowns,
    )
    store = open_store(
        settings.media_store,
        max_bytes=settings.media_store_max_bytes,
        hot_bytes=settings.media_hot_cache_bytes,
        endpoint=settings.s3_endpoint_url,
        public_base=settings.media_public_base_url,
    )
    rewriter = build_rewriter(settings, client, cooldowns)
    fetcher = ImageFetcher(media, fetch_policy(settings))
    signer = link_signer(settings)
    remote_images = RemoteImages(store, fetcher, signer)
    journal = Journal(database)
    pipeline = ImagePipeline(router, store, fetcher, signer, settings, rewriter=rewriter)
    clients = Clients(database)
    limits = Limits(settings.client_limits, database, clients)
    accounting = Accounting(journal, limits, router, keep=settings.keep_records)
    templates = Templates(database)
    outbound = webhooks(settings, media)
    return Resources(
        settings=settings,
        store=store,
        router=router,
        pipeline=pipeline,
        remote_images=remote_images,
        background=BackgroundWork(),
        side_requests=SideRequests(
            enabled=settings.side_request_detection,
            extra_patterns=settings.side_request_patterns,
            ratios=settings.aspect_ratios,
            default_size=settings.default_size,
            rewriter=rewriter,
        ),
        inputs=InputPictures(store, fetcher, remote_images, max_bytes=settings.media_max_bytes),
        database=database,
        journal=journal,
        accounting=accounting,
        templates=templates,
        webhooks=outbound,
        batches=Batches(database, pipeline, accounting, templates, outbound, settings),
        clients=clients,
        shared_state=shared_state(settings, router, rewriter, limits),
    )


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(vendor_client(settings))
        media = await stack.enter_async_context(media_client(fetch_policy(settings)))
        database = await open_database(settings)
        stack.push_async_callback(database.close)
        resources = build_resources(settings, client, media, database)
        resources.journal.start()
        await resources.templates.load()
        await resources.clients.load()
        resources.clients.start()
        resources.batches.start()
        if resources.shared_state is not None:
            await resources.shared_state.start()
            stack.push_async_callback(resources.shared_state.stop)
        app.state.resources = resources
        try:
            yield
        finally:
            await resources.clients.stop()
            await resources.batches.stop(settings.shutdown_grace_seconds)
            await resources.background.drain(settings.shutdown_grace_seconds)
            await resources.journal.stop(settings.shutdown_grace_seconds)


def provide_resources(state: State) -> Resources:
    resources: Resources = state.resources
    return resources


def from_resources(name: str) -> Provide:
    """A dependency that hands handlers one of the process-wide resources by attribute name."""

    def provide(state: State) -> Any:
        return getattr(state.resources, name)

    return Provide(provide, sync_to_thread=False)
