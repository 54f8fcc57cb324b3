"""Records and batches as the API shows them (and as a batch's webhook sends it)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from gateway.records import Database
from gateway.records.batches import CANCELLED, DONE, FAILED, item_counts, records_by_id
from gateway.records.schema import BatchItemRow, BatchRow, ImageRecord
from gateway.schemas import BatchCounts, BatchItemOut, BatchOut, ImageRecordOut


def shown(record: ImageRecord) -> ImageRecordOut:
    return ImageRecordOut(
        id=record.id,
        created_at=_seconds(record.created_at),
        client=record.client,
        model=record.model,
        route=record.route,
        endpoint=record.endpoint,
        idea=record.idea,
        prompt=record.prompt,
        width=record.width,
        height=record.height,
        seed=record.seed,
        input_image=record.input_image,
        image=record.image_name,
        url=record.link,
        cost=record.cost,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        latency_ms=record.latency_ms,
        attempts=record.attempts,
    )


async def batch_shown(database: Database, batch: BatchRow, items: list[BatchItemRow]) -> BatchOut:
    """One batch with its items and their records."""
    wanted = [record_id for item in items for record_id in item.record_ids.split(",") if record_id]
    records = await records_by_id(database, wanted)
    shown_items = [
        BatchItemOut(
            index=item.position,
            prompt=item.prompt,
            status=item.status,
            error=item.error,
            images=[shown(records[i]) for i in item.record_ids.split(",") if i in records],
        )
        for item in items
    ]
    return _summary(batch, Counter(item.status for item in items), shown_items)


async def batches_shown(database: Database, batches: list[BatchRow]) -> list[BatchOut]:
    """Batches with their counts (no items), for a listing."""
    counts = await item_counts(database, [batch.id for batch in batches])
    return [_summary(batch, Counter(counts[batch.id]), None) for batch in batches]


def _summary(batch: BatchRow, counts: Counter[str], items: list[BatchItemOut] | None) -> BatchOut:
    return BatchOut(
        id=batch.id,
        status=batch.status,
        model=batch.model,
        created_at=_seconds(batch.created_at),
        finished_at=_seconds(batch.finished_at) if batch.finished_at else None,
        request_counts=BatchCounts(sum(counts.values()), counts[DONE], counts[FAILED], counts[CANCELLED]),
        webhook_url=batch.webhook_url,
        webhook_status=batch.webhook_status,
        items=items,
    )


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())
