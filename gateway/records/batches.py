"""Batches in the database: created whole, claimed by one process at a time (a lease), items finished one by one.

A batch is ``in_progress`` until every item is ``done`` or ``failed`` (then
``completed``) or it is cancelled (queued and running items become
``cancelled``; one being made when it was cancelled is still kept ``done``). A
process runs a batch only while it holds its lease (``claimed_until``): it
renews it while working and gives it back on a clean stop, so a restarted or
another replica takes over what a dead one left. An item's records and its
``done`` are written in one transaction, so a resumed batch never makes an item
twice that was recorded, nor loses one that was not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from gateway.records.database import Database
from gateway.records.journal import Record, rows
from gateway.records.schema import BatchItemRow, BatchRow, ImageRecord

IN_PROGRESS, COMPLETED, CANCELLED = "in_progress", "completed", "cancelled"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
OPEN = (QUEUED, RUNNING)
"""Items with work left (a running one cut off by a crash is made again)."""
WEBHOOK_PENDING, WEBHOOK_DELIVERED, WEBHOOK_FAILED = "pending", "delivered", "failed"


def _now() -> datetime:
    return datetime.now(UTC)


def _unclaimed(now: datetime) -> Any:
    return or_(BatchRow.claimed_until.is_(None), BatchRow.claimed_until < now)


async def create_batch(database: Database, batch: BatchRow, prompts: list[str]) -> None:
    async with database.sessions() as session, session.begin():
        session.add(batch)
        await session.flush()
        await session.execute(
            insert(BatchItemRow),
            [{"batch_id": batch.id, "position": i, "prompt": p, "status": QUEUED} for i, p in enumerate(prompts)],
        )


async def claimable(database: Database) -> list[str]:
    """Batches with work left (items, or a webhook to send) that no live process holds."""
    query = select(BatchRow.id).where(
        or_(BatchRow.status == IN_PROGRESS, BatchRow.webhook_status == WEBHOOK_PENDING), _unclaimed(_now())
    )
    async with database.sessions() as session:
        return list((await session.scalars(query.order_by(BatchRow.created_at))).all())


async def claim(database: Database, batch_id: str, until: datetime) -> bool:
    """Take the batch's lease until ``until``; False when a live process holds it."""
    query = update(BatchRow).where(BatchRow.id == batch_id, _unclaimed(_now())).values(claimed_until=until)
    async with database.engine.begin() as connection:
        return (await connection.execute(query)).rowcount == 1


async def renew(database: Database, batch_ids: list[str], until: datetime | None) -> None:
    """Extend the leases of ``batch_ids`` (None: give them back, for another process to take at once)."""
    if batch_ids:
        query = update(BatchRow).where(BatchRow.id.in_(batch_ids)).values(claimed_until=until)
        async with database.engine.begin() as connection:
            await connection.execute(query)


async def get_batch(database: Database, batch_id: str) -> tuple[BatchRow, list[BatchItemRow]] | None:
    async with database.sessions() as session:
        batch = await session.get(BatchRow, batch_id)
        if batch is None:
            return None
        query = select(BatchItemRow).where(BatchItemRow.batch_id == batch_id).order_by(BatchItemRow.position)
        return batch, list((await session.scalars(query)).all())


async def batch_status(database: Database, batch_id: str) -> str | None:
    """Only the batch's status (checked before each prompt; its items are not read)."""
    async with database.sessions() as session:
        return await session.scalar(select(BatchRow.status).where(BatchRow.id == batch_id))


async def list_batches(database: Database, *, client: str | None, limit: int) -> list[BatchRow]:
    """Newest first; ``client`` None is everyone's."""
    query = select(BatchRow).order_by(BatchRow.created_at.desc(), BatchRow.id.desc()).limit(limit)
    if client is not None:
        query = query.where(BatchRow.client == client)
    async with database.sessions() as session:
        return list((await session.scalars(query)).all())


async def item_counts(database: Database, batch_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per batch, how many items are in each state."""
    query = (
        select(BatchItemRow.batch_id, BatchItemRow.status, func.count())
        .where(BatchItemRow.batch_id.in_(batch_ids))
        .group_by(BatchItemRow.batch_id, BatchItemRow.status)
    )
    counts: dict[str, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    async with database.sessions() as session:
        for batch_id, status, count in (await session.execute(query)).all():
            counts[batch_id][status] = int(count)
    return counts


async def records_by_id(database: Database, record_ids: list[str]) -> dict[str, ImageRecord]:
    if not record_ids:
        return {}
    async with database.sessions() as session:
        found = await session.scalars(select(ImageRecord).where(ImageRecord.id.in_(record_ids)))
        return {record.id: record for record in found}


async def finish_item(
    database: Database, batch_id: str, position: int, *, records: list[Record], error: str | None
) -> None:
    """The item ``done`` with its records (written in the same transaction), or ``failed`` with ``error``."""
    values = {
        "status": FAILED if error is not None else DONE,
        "record_ids": ",".join(record.id for record in records),
        "error": error,
        "finished_at": _now(),
    }
    async with database.engine.begin() as connection:
        if records:
            await connection.execute(insert(ImageRecord), rows(records))
        await connection.execute(
            update(BatchItemRow)
            .where(
                BatchItemRow.batch_id == batch_id,
                BatchItemRow.position == position,
                BatchItemRow.status.in_((*OPEN, CANCELLED)),  # cancelled while being made: what was made is kept
            )
            .values(**values)
        )


async def start_item(database: Database, batch_id: str, position: int) -> None:
    query = (
        update(BatchItemRow)
        .where(BatchItemRow.batch_id == batch_id, BatchItemRow.position == position, BatchItemRow.status == QUEUED)
        .values(status=RUNNING)
    )
    async with database.engine.begin() as connection:
        await connection.execute(query)


async def finish_batch(database: Database, batch_id: str) -> None:
    """``completed`` once no item is queued (a cancelled batch stays cancelled)."""
    left = select(BatchItemRow.position).where(BatchItemRow.batch_id == batch_id, BatchItemRow.status.in_(OPEN))
    query = (
        update(BatchRow)
        .where(BatchRow.id == batch_id, BatchRow.status == IN_PROGRESS, ~left.exists())
        .values(status=COMPLETED, finished_at=_now())
    )
    async with database.engine.begin() as connection:
        await connection.execute(query)


async def cancel_batch(database: Database, batch_id: str) -> bool:
    """Queued items are cancelled and the batch with them; False when it had ended already."""
    async with database.engine.begin() as connection:
        ended = await connection.execute(
            update(BatchRow)
            .where(BatchRow.id == batch_id, BatchRow.status == IN_PROGRESS)
            .values(status=CANCELLED, finished_at=_now())
        )
        if ended.rowcount != 1:
            return False
        await connection.execute(
            update(BatchItemRow)
            .where(BatchItemRow.batch_id == batch_id, BatchItemRow.status.in_(OPEN))
            .values(status=CANCELLED, finished_at=_now())
        )
    return True


async def webhook_attempted(database: Database, batch_id: str, *, attempts: int, status: str) -> None:
    query = update(BatchRow).where(BatchRow.id == batch_id).values(webhook_attempts=attempts, webhook_status=status)
    async with database.engine.begin() as connection:
        await connection.execute(query)
