"""Batches: many prompts made in the background, under the normal routing and the client's limits.

A batch is answered at once and kept in the database. Its prompts are made
``BATCH_CONCURRENCY`` at a time (across all batches of this process), each
checked and planned exactly as a generations request. A prompt that meets a
client's per-minute limit, or keys all cooling down, waits and tries again; one
that fails for good is marked failed with its error, and the batch goes on.

Every process looks for batches no live process holds (``claimed_until``
passed) and takes them over: a restart resumes what was left, a crashed
replica's batches move to another. A clean stop lets prompts in flight finish
within ``SHUTDOWN_GRACE_SECONDS`` and hands its batches back at once. A prompt
cut off in the middle is made again when the batch resumes.

When a batch ends (completed or cancelled) and names a ``webhook_url``, it is
sent once, signed (``gateway.webhooks``); the attempts are kept with the batch,
so a restart neither repeats a delivered webhook nor forgets a pending one.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import msgspec
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from config import Settings
from gateway.errors import ApiError, ClientLimited, NoCapacity
from gateway.generation import Generation, planned
from gateway.pipeline import ImagePipeline
from gateway.recording import Accounting
from gateway.records import Database, Record
from gateway.records.batches import (
    IN_PROGRESS,
    OPEN,
    WEBHOOK_DELIVERED,
    WEBHOOK_FAILED,
    WEBHOOK_PENDING,
    batch_status,
    claim,
    claimable,
    create_batch,
    finish_batch,
    finish_item,
    get_batch,
    renew,
    start_item,
    webhook_attempted,
)
from gateway.records.schema import BatchItemRow, BatchRow
from gateway.schemas import GenerationOptions, ImageGenerationRequest, to_json
from gateway.templates import Templates
from gateway.views import batch_shown
from gateway.webhooks import Webhooks

ENDPOINT = "images.batches"
PATIENCE = 5
"""Times a prompt waits out a per-minute limit or cooling keys before it is marked failed."""
LONGEST_PAUSE = 120.0

log = structlog.get_logger("gateway.batches")


def batch_id() -> str:
    return f"batch_{secrets.token_hex(12)}"


class Batches:
    def __init__(
        self,
        database: Database,
        pipeline: ImagePipeline,
        accounting: Accounting,
        templates: Templates,
        webhooks: Webhooks,
        settings: Settings,
    ) -> None:
        self._database = database
        self._pipeline = pipeline
        self._accounting = accounting
        self._templates = templates
        self._webhooks = webhooks
        self._settings = settings
        self._lease = timedelta(seconds=settings.batch_lease_seconds)
        self._slots = asyncio.Semaphore(settings.batch_concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._watch: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def plan(self, options: GenerationOptions, prompt: str) -> Generation:
        """One prompt of a batch checked and planned as a generations request (an ApiError when it cannot be)."""
        body = ImageGenerationRequest(**msgspec.structs.asdict(options), prompt=prompt)
        return planned(body, settings=self._settings, pipeline=self._pipeline, templates=self._templates)

    async def submit(
        self,
        *,
        client: str,
        model: str,
        options: GenerationOptions,
        prompts: list[str],
        base_url: str,
        webhook: str | None,
    ) -> BatchRow:
        """Keep the batch and start it here (its prompts were checked by the caller)."""
        now = datetime.now(UTC)
        batch = BatchRow(
            id=batch_id(),
            client=client,
            status=IN_PROGRESS,
            model=model,
            options=to_json(options).decode(),
            base_url=base_url,
            webhook_url=webhook,
            webhook_status=WEBHOOK_PENDING if webhook else None,
            webhook_attempts=0,
            created_at=now,
            claimed_until=now + self._lease,
        )
        await create_batch(self._database, batch, prompts)
        log.info("batch.submitted", batch=batch.id, client=client, model=model, prompts=len(prompts))
        self._start(batch.id)
        return batch

    def start(self) -> None:
        """Take over batches no live process holds, now and every third of a lease."""
        self._watch = asyncio.create_task(self._keep_watch())

    async def stop(self, grace: float) -> None:
        """Let prompts in flight finish within ``grace``, then hand every batch back for the next start."""
        self._stopping.set()
        if self._watch is not None:
            await self._watch  # ends after its current pass, not in the middle of a query
        held = list(self._running)
        tasks = list(self._running.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await renew(self._database, held, None)
        except Exception as error:  # the leases then run out by themselves
            log.warning("batch.release_failed", error=type(error).__name__)

    async def _keep_watch(self) -> None:
        while not self._stopping.is_set():
            try:
                until = datetime.now(UTC) + self._lease
                await renew(self._database, list(self._running), until)
                for found in await claimable(self._database):
                    if found not in self._running and await claim(self._database, found, until):
                        log.info("batch.resumed", batch=found)
                        self._start(found)
            except Exception as error:
                log.warning("batch.watch_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._lease.total_seconds() / 3)

    def _start(self, found: str) -> None:
        if not self._stopping.is_set():
            self._running[found] = asyncio.create_task(self._run(found))

    async def _run(self, found: str) -> None:
        try:
            loaded = await get_batch(self._database, found)
            if loaded is None:
                return
            batch, items = loaded
            if batch.status == IN_PROGRESS:
                await self._make(batch, [item for item in items if item.status in OPEN])
                await finish_batch(self._database, batch.id)
            await self._notify(batch.id)
        except Exception:
            log.exception("batch.failed", batch=found)
        finally:
            self._running.pop(found, None)

    async def _make(self, batch: BatchRow, queued: list[BatchItemRow]) -> None:
        options = msgspec.json.decode(batch.options, type=GenerationOptions)
        async with asyncio.TaskGroup() as group:
            for item in queued:
                await self._slots.acquire()
                if self._stopping.is_set() or await self._cancelled(batch.id):
                    self._slots.release()
                    break
                group.create_task(self._item(batch, options, item))

    async def _cancelled(self, found: str) -> bool:
        return await batch_status(self._database, found) != IN_PROGRESS

    async def _item(self, batch: BatchRow, options: GenerationOptions, item: BatchItemRow) -> None:
        """Make one prompt and keep what came of it; a slot was taken for it."""
        try:
            records: list[Record] = []
            error: str | None = None
            try:
                await start_item(self._database, batch.id, item.position)
                records = await self._made(batch, options, item.prompt)
            except ApiError as failed:
                error = failed.message
            except Exception:
                log.exception("batch.item_failed", batch=batch.id, index=item.position)
                error = "internal error while making this picture"
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(6),
                wait=wait_exponential(multiplier=0.5, max=10),
                retry=retry_if_exception_type(Exception),
                reraise=True,
            ):
                with attempt:  # the pictures are paid for: keep trying to write them down
                    await finish_item(self._database, batch.id, item.position, records=records, error=error)
            log.info("batch.item", batch=batch.id, index=item.position, made=len(records), error=error)
        finally:
            self._slots.release()

    async def _made(self, batch: BatchRow, options: GenerationOptions, prompt: str) -> list[Record]:
        started = time.perf_counter()
        plan = self.plan(options, prompt)
        for attempt in range(PATIENCE):
            try:
                await self._accounting.allow(batch.client, plan.model, plan.n)
                produced = await self._pipeline.produce(
                    plan.model,
                    plan.parsed,
                    n=plan.n,
                    extras=plan.extras,
                    rewrite=options.rewrite is not False,
                    output=plan.output,
                )
                break
            except (ClientLimited, NoCapacity) as busy:
                passing = not isinstance(busy, ClientLimited) or busy.param == "images_per_minute"
                if not passing or attempt == PATIENCE - 1:
                    raise
                await asyncio.sleep(min(busy.retry_after, LONGEST_PAUSE))
        return self._accounting.record(
            produced,
            client=batch.client,
            endpoint=ENDPOINT,
            model=plan.model,
            idea=plan.idea,
            base_url=batch.base_url,
            started=started,
            journal=False,  # written with the item's state, in one transaction
        )

    async def _notify(self, found: str) -> None:
        """Send the ended batch to its webhook, once."""
        loaded = await get_batch(self._database, found)
        if loaded is None:
            return
        batch, items = loaded
        if batch.status == IN_PROGRESS or batch.webhook_url is None or batch.webhook_status != WEBHOOK_PENDING:
            return
        body = to_json(await batch_shown(self._database, batch, items))
        most = self._settings.webhook_attempts

        async def attempted(made: int, delivered: bool) -> None:
            status = WEBHOOK_DELIVERED if delivered else WEBHOOK_FAILED if made >= most else WEBHOOK_PENDING
            await webhook_attempted(self._database, found, attempts=made, status=status)

        await self._webhooks.deliver(
            batch.webhook_url, f"batch.{batch.status}", body, made=batch.webhook_attempts, attempted=attempted
        )
