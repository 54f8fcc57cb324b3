"""``/v1/images`` (a client's own pictures, one picture, soft delete) and ``/v1/usage`` (what they cost).

A client sees only its own records (the client is the name of its key,
``alice:sk-…``, or its fingerprint; ``anonymous`` without auth);
``ADMIN_API_KEY`` sees everyone's. Deleting a record removes its file from the store
and makes its link answer 410. ``/api/analytics/costs`` (mounted under ``/api``) answers the seed
worker API's shape (``total_cost``, ``total_images``, ``average_cost``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from gateway.auth import ADMIN, client_of
from gateway.errors import InvalidRequest, NotFound
from gateway.records.queries import BadCursor, get_image, list_images, mark_deleted, usage
from gateway.records.schema import ImageRecord
from gateway.resources import Resources
from gateway.schemas import ImageRecordOut
from gateway.views import shown

MAX_PAGE = 200
GROUPINGS = ("model", "client", "route", "day")


class ImageRecordList(msgspec.Struct):
    data: list[ImageRecordOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"


class UsageGroup(msgspec.Struct):
    key: str
    images: int
    cost: float


class UsageReport(msgspec.Struct):
    total_cost: float
    total_images: int
    average_cost: float
    group_by: str | None
    groups: list[UsageGroup]


class DeletedImage(msgspec.Struct):
    id: str
    deleted: bool = True
    object: str = "image"


@get("/images")
async def list_image_records(
    request: Request[Any, Any, Any],
    resources: NamedDependency[Resources],
    model: FromQuery[str | None] = None,
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int] = 50,
) -> ImageRecordList:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be 1 to {MAX_PAGE}", param="limit")
    try:
        page = await list_images(
            resources.database,
            client=visible_to(request),
            model=model,
            since=moment(since, "since"),
            until=moment(until, "until"),
            cursor=cursor,
            limit=limit,
        )
    except BadCursor:
        raise InvalidRequest("cursor is not one this gateway gave", param="cursor") from None
    return ImageRecordList([shown(record) for record in page.records], page.next_cursor is not None, page.next_cursor)


@get("/images/{record_id:str}")
async def get_image_record(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], record_id: FromPath[str]
) -> ImageRecordOut:
    return shown(await _own(request, resources, record_id))


@delete("/images/{record_id:str}", status_code=200)
async def delete_image_record(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], record_id: FromPath[str]
) -> DeletedImage:
    record = await _own(request, resources, record_id)
    await mark_deleted(resources.database, record.id)
    if record.image_name:
        await resources.store.delete(record.image_name)
    return DeletedImage(record.id)


@get("/usage")
async def get_usage(
    request: Request[Any, Any, Any],
    resources: NamedDependency[Resources],
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    group_by: FromQuery[str | None] = None,
) -> UsageReport:
    return await _report(request, resources, since, until, group_by)


@get("/analytics/costs")
async def get_cost_analytics(
    request: Request[Any, Any, Any],
    resources: NamedDependency[Resources],
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
) -> UsageReport:
    return await _report(request, resources, since, until, None)


async def _report(
    request: Request[Any, Any, Any], resources: Resources, since: str | None, until: str | None, group_by: str | None
) -> UsageReport:
    if group_by is not None and group_by not in GROUPINGS:
        raise InvalidRequest(f"group_by must be one of {', '.join(GROUPINGS)}", param="group_by")
    rows = await usage(
        resources.database,
        client=visible_to(request),
        since=moment(since, "since"),
        until=moment(until, "until"),
        group_by=group_by,
    )
    images = sum(count for _, count, _ in rows)
    cost = round(sum(total for _, _, total in rows), 6)
    groups = [UsageGroup(key, count, round(total, 6)) for key, count, total in rows] if group_by else []
    return UsageReport(cost, images, round(cost / images, 6) if images else 0.0, group_by, groups)


async def _own(request: Request[Any, Any, Any], resources: Resources, record_id: str) -> ImageRecord:
    record = await get_image(resources.database, record_id)
    client = visible_to(request)
    if record is None or record.deleted or (client is not None and record.client != client):
        raise NotFound(f"no image record '{record_id}'")
    return record


def visible_to(request: Request[Any, Any, Any]) -> str | None:
    """Whose records a request may see: its own client's, or everyone's (None) for ``ADMIN_API_KEY``."""
    client = client_of(request)
    return None if client == ADMIN else client


def moment(raw: str | None, param: str) -> datetime | None:
    """An ISO 8601 time or Unix seconds, in UTC; None when absent."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        value = (
            datetime.fromtimestamp(float(text), UTC)
            if text.replace(".", "", 1).isdigit()
            else datetime.fromisoformat(text)
        )
    except (ValueError, OverflowError, OSError):
        raise InvalidRequest(f"{param} is not an ISO 8601 time or Unix seconds", param=param) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
