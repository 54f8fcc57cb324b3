"""Reading and changing records: a client's own pictures (cursor pages), one picture, soft delete, usage sums."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, String, and_, cast, func, literal, or_, select, update

from gateway.records.database import Database
from gateway.records.schema import ImageRecord

GROUPS = {
    "model": ImageRecord.model,
    "client": ImageRecord.client,
    "route": ImageRecord.route,
}


@dataclass(frozen=True, slots=True)
class Page:
    records: list[ImageRecord]
    next_cursor: str | None


class BadCursor(ValueError):
    """A cursor this gateway did not write."""


async def list_images(
    database: Database,
    *,
    client: str | None,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Newest first; ``client`` None is the admin's view of everyone's."""
    query = _filtered(select(ImageRecord), client=client, model=model, since=since, until=until)
    if cursor:
        created, record_id = _decode(cursor)
        query = query.where(
            or_(ImageRecord.created_at < created, and_(ImageRecord.created_at == created, ImageRecord.id < record_id))
        )
    query = query.order_by(ImageRecord.created_at.desc(), ImageRecord.id.desc()).limit(limit + 1)
    async with database.sessions() as session:
        found = list((await session.scalars(query)).all())
    more = len(found) > limit
    records = found[:limit]
    return Page(records, _encode(records[-1]) if more and records else None)


async def get_image(database: Database, record_id: str) -> ImageRecord | None:
    async with database.sessions() as session:
        return await session.get(ImageRecord, record_id)


async def mark_deleted(database: Database, record_id: str) -> None:
    async with database.sessions() as session, session.begin():
        await session.execute(update(ImageRecord).where(ImageRecord.id == record_id).values(deleted=True))


async def name_deleted(database: Database, name: str) -> bool:
    """Whether a stored picture's name belongs to a deleted record (and to no live one)."""
    query = select(ImageRecord.deleted).where(ImageRecord.image_name == name)
    async with database.sessions() as session:
        states = list((await session.scalars(query)).all())
    return bool(states) and all(states)


async def usage(
    database: Database,
    *,
    client: str | None,
    since: datetime | None,
    until: datetime | None,
    group_by: str | None,
) -> list[tuple[str, int, float]]:
    """(group, images, total cost) rows; one row with group "" when ``group_by`` is None."""
    day = func.substr(cast(ImageRecord.created_at, String), 1, 10)
    key = day if group_by == "day" else GROUPS.get(group_by or "", literal(""))
    query = select(key, func.count(ImageRecord.id), func.coalesce(func.sum(ImageRecord.cost), 0.0))
    query = _filtered(query, client=client, model=None, since=since, until=until).group_by(key).order_by(key)
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    return [(str(group), int(images), float(cost)) for group, images, cost in rows]


def _filtered(
    query: Select,  # type: ignore[type-arg]
    *,
    client: str | None,
    model: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select:  # type: ignore[type-arg]
    query = query.where(ImageRecord.deleted.is_(False))
    if client is not None:
        query = query.where(ImageRecord.client == client)
    if model is not None:
        query = query.where(ImageRecord.model == model)
    if since is not None:
        query = query.where(ImageRecord.created_at >= since)
    if until is not None:
        query = query.where(ImageRecord.created_at < until)
    return query


def _encode(record: ImageRecord) -> str:
    raw = f"{record.created_at.astimezone(UTC).isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, record_id = raw.split("|", 1)
        return datetime.fromisoformat(created), record_id
    except (ValueError, UnicodeDecodeError):
        raise BadCursor(cursor) from None
