"""Records are written in the background: a picture is answered first, and a failed write is retried.

``write`` only queues; one task takes what is queued, inserts it in one
transaction, and on failure logs it and tries again with backoff. On shutdown
the queue is written out before the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter

import structlog
from sqlalchemy import insert

from gateway.records.database import Database
from gateway.records.schema import ImageRecord

log = structlog.get_logger("gateway.records")

BATCH = 500
GATHER_SECONDS = 0.05
"""How long a wake-up waits for more records before writing: a transaction per 50 ms, not per picture."""
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)


_ids = random.Random(secrets.randbits(128))
os.register_at_fork(after_in_child=lambda: _ids.seed(secrets.randbits(128)))  # forked workers draw their own ids


def record_id() -> str:
    """A new record's id: unique, not secret (every read checks whose record it is), so no system call per id."""
    return f"img_{_ids.getrandbits(96):024x}"


@dataclass(frozen=True, slots=True)
class Record:
    """One picture made, as the journal writes it."""

    id: str
    client: str
    endpoint: str
    model: str
    route: str
    idea: str
    prompt: str
    width: int
    height: int
    seed: int | None
    input_image: str | None
    image_name: str
    link: str
    cost: float | None
    latency_ms: float
    attempts: int
    created_at: datetime
    input_tokens: int | None = None
    output_tokens: int | None = None


COLUMNS = tuple(field.name for field in fields(Record))
_values = attrgetter(*COLUMNS)


def rows(records: list[Record]) -> list[dict[str, object]]:
    """``records`` as the images table's rows (not deleted), for one executemany."""
    return [dict(zip(COLUMNS, _values(record), strict=True), deleted=False) for record in records]


class Journal:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._pending: list[Record] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def write(self, records: list[Record]) -> None:
        """Queue ``records``; never waits for the database."""
        if records:
            self._pending.extend(records)
            self._idle.clear()
            self._wake.set()

    @property
    def idle(self) -> bool:
        """Everything queued is written."""
        return self._idle.is_set() and not self._pending

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def flush(self, grace: float) -> None:
        """Wait until everything queued is written (at most ``grace`` seconds)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._idle.wait()

    async def stop(self, grace: float) -> None:
        await self.flush(grace)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pending:
            log.error("records.not_written", count=len(self._pending))

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            await asyncio.sleep(GATHER_SECONDS)  # under load, one transaction for many records
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
                try:
                    async with self._database.engine.begin() as connection:  # one executemany, no ORM objects
                        await connection.execute(insert(ImageRecord), rows(batch))
                except Exception as error:
                    self._pending[:0] = batch
                    wait = BACKOFF[min(failures, len(BACKOFF) - 1)]
                    failures += 1
                    log.warning(
                        "records.write_failed", error=type(error).__name__, retry_in=wait, queued=len(self._pending)
                    )
                    await asyncio.sleep(wait)
                    continue
                failures = 0
            self._idle.set()
