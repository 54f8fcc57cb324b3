"""One way to call a vendor over HTTP and classify how it failed.

Status codes and httpx exception types map to ProviderError classes through the
tables below; message text is never parsed. The only body field read for
classification is a structured error ``code`` (to tell quota exhaustion from a
plain rate limit).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

from providers.base import (
    ImageJob,
    KeyExhausted,
    KeyRejected,
    MalformedReply,
    ProviderError,
    RateLimited,
    ReplyTooLarge,
    RequestRejected,
    VendorBusy,
    VendorUnavailable,
)
from providers.offload import sized


class OriginBusy(httpx.TransportError):
    """Raised by the transport: too many requests are already waiting for this host (the queue is bounded)."""


STATUS_ERRORS: dict[int, type[ProviderError]] = {
    400: RequestRejected,
    401: KeyRejected,
    402: KeyExhausted,
    403: KeyRejected,
    404: VendorUnavailable,
    408: VendorUnavailable,
    409: VendorUnavailable,
    413: RequestRejected,
    422: RequestRejected,
    429: RateLimited,
}
QUOTA_CODES = frozenset(
    {"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached", "insufficient_balance", "30001"}
)
TRANSPORT_ERRORS: tuple[tuple[type[Exception], type[ProviderError], str], ...] = (
    (OriginBusy, VendorBusy, "too many requests are already waiting for this vendor"),
    (httpx.TimeoutException, VendorUnavailable, "the vendor timed out"),
    (httpx.DecodingError, MalformedReply, "the vendor's reply could not be decoded"),
    (httpx.TransportError, VendorUnavailable, "the vendor could not be reached"),
)
DETAIL_LIMIT = 500
MESSAGE_LIMIT = 300
ERROR_BODY_LIMIT = 64 * 1024
"""How much of an error reply is read: enough for its message and code."""
REPLY_OVERHEAD = 1024 * 1024
"""Room in an image reply for what surrounds the images (JSON, text)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A vendor's answer, read within its cap (and decoded, if it was gzip or deflate)."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def base64_length(size: int) -> int:
    """Characters of base64 that carry ``size`` bytes."""
    return (size + 2) // 3 * 4


def image_reply_limit(job: ImageJob) -> int:
    """The most a reply carrying ``job``'s images may weigh: each image as base64 at its cap, plus the wrapping."""
    return base64_length(job.max_image_bytes) * job.n + REPLY_OVERHEAD


async def read_upto(response: httpx.Response, limit: int) -> bytes:
    """The streamed body, but no more than ``limit`` + 1 bytes: a longer result means the body is over the limit.

    Bytes are counted as they arrive, after decoding, so neither a lying
    Content-Length nor a compressed body gets past the limit.
    """
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        received += len(chunk)
        if received > limit:
            break
    return b"".join(chunks)[: limit + 1]


def optional_fields(**fields: Any) -> dict[str, Any]:
    """The request fields that were given: vendors reject explicit nulls for knobs they would default."""
    return {name: value for name, value in fields.items() if value is not None}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def translate_transport_errors() -> AsyncIterator[None]:
    """Turn httpx's exceptions into the ProviderError the table names (most specific first)."""
    try:
        yield
    except httpx.HTTPError as error:
        for exc_type, error_type, message in TRANSPORT_ERRORS:
            if isinstance(error, exc_type):
                raise error_type(message, detail=type(error).__name__) from error
        raise VendorUnavailable("the vendor call failed", detail=type(error).__name__) from error


@functools.lru_cache(maxsize=1024)
def vendor_url(url: str) -> httpx.URL:
    """A vendor endpoint parsed once: httpx's URL parsing was a tenth of an outbound call's CPU."""
    return httpx.URL(url)


def json_request(key: str) -> dict[str, str]:
    return {**bearer(key), "Content-Type": "application/json"}


async def post_json(client: httpx.AsyncClient, url: str, *, key: str, payload: dict[str, Any], max_bytes: int) -> Reply:
    """POST ``payload`` (as JSON) with the key as a bearer token; a non-2xx reply raises its classified error.

    A reply over ``max_bytes`` is a ReplyTooLarge (the next vendor is tried).
    """
    body = msgspec.json.encode(payload)
    async with (
        translate_transport_errors(),
        client.stream("POST", vendor_url(url), content=body, headers=json_request(key)) as response,
    ):
        return await read_reply(response, key=key, max_bytes=max_bytes)


Upload = tuple[str, tuple[str, bytes, str]]
"""One multipart file field: ``(field name, (file name, bytes, content type))``."""


async def post_multipart(
    client: httpx.AsyncClient,
    url: str,
    *,
    key: str,
    fields: dict[str, str],
    files: list[Upload],
    max_bytes: int,
) -> Reply:
    """POST a multipart form (``fields`` and ``files``) with the key as a bearer token; errors as ``post_json``."""
    async with (
        translate_transport_errors(),
        client.stream("POST", vendor_url(url), data=fields, files=files, headers=bearer(key)) as response,
    ):
        return await read_reply(response, key=key, max_bytes=max_bytes)


async def read_reply(response: httpx.Response, *, key: str, max_bytes: int) -> Reply:
    """A streamed response read whole within ``max_bytes`` (an error reply: its first part), or its classified error."""
    limit = max_bytes if response.is_success else ERROR_BODY_LIMIT
    content = await read_upto(response, limit)
    reply = Reply(response.status_code, response.headers, content[:limit])
    if not reply.is_success:
        raise error_for_response(reply, key=key)
    if len(content) > limit:
        raise ReplyTooLarge(f"the vendor's reply is larger than {limit} bytes", vendor_status=response.status_code)
    return reply


def error_for_response(response: Reply, *, key: str = "") -> ProviderError:
    """The classified error for a non-2xx vendor reply."""
    status = response.status_code
    body = _json_or_none(response.content)
    error_type = STATUS_ERRORS.get(status)
    if error_type is None:
        error_type = VendorUnavailable if status >= 500 else RequestRejected
    if error_type is RateLimited and _error_code(body) in QUOTA_CODES:
        error_type = KeyExhausted
    detail = response.text[:DETAIL_LIMIT]
    message = vendor_message(body) if error_type is RequestRejected else f"vendor answered HTTP {status}"
    if key:
        detail, message = detail.replace(key, "[key]"), message.replace(key, "[key]")
    return error_type(
        message or f"the vendor refused the request (HTTP {status})",
        vendor_status=status,
        detail=detail,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


async def read_json(response: Reply) -> Any:
    """The reply's JSON body (msgspec; off the loop when it carries megabytes of base64); else a MalformedReply."""
    try:
        return await sized(len(response.content), msgspec.json.decode, response.content)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise MalformedReply(
            "the vendor's reply is not JSON", vendor_status=response.status_code, detail=response.text[:200]
        ) from error


def preview(body: Any) -> str:
    """A few words on a reply's shape for the log, at a cost that does not grow with the reply."""
    if isinstance(body, dict):
        return f"an object with keys {', '.join(str(key)[:40] for key in list(body)[:12])}"
    if isinstance(body, list):
        return f"a list of {len(body)} items"
    return f"a {type(body).__name__}"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def vendor_message(body: Any) -> str:
    """The vendor's own short explanation from the usual error shapes, trimmed."""
    candidates: list[Any] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            candidates.append(error.get("message"))
        candidates += [error, body.get("message"), body.get("detail")]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            candidates.append(errors[0].get("message"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:MESSAGE_LIMIT]
    return ""


def _error_code(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    source = error if isinstance(error, dict) else body
    for field in ("code", "type"):
        value = source.get(field)
        if isinstance(value, str | int) and str(value) in QUOTA_CODES:
            return str(value)
    return ""


def _json_or_none(content: bytes) -> Any:
    try:
        return msgspec.json.decode(content)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


async def decode_base64(text: str, *, max_bytes: int) -> bytes:
    """Bytes of a base64 image (a bare string or a ``data:`` URI), at most ``max_bytes``; else a MalformedReply.

    The size is checked before anything is decoded, and a large payload is decoded off the event loop.
    """
    _, sep, payload = text.partition(";base64,")
    payload = payload if sep else text
    if len(payload) > base64_length(max_bytes) + 4:  # + padding and a trailing newline
        raise ReplyTooLarge(f"the vendor's image is larger than the {max_bytes} byte limit")
    try:
        data = await sized(len(payload), base64.b64decode, payload)
    except (binascii.Error, ValueError) as error:
        raise MalformedReply("the vendor sent an unreadable base64 image") from error
    return check_image_size(data, max_bytes)


def check_image_size(data: bytes, max_bytes: int) -> bytes:
    """``data`` if it is within the image size limit; else a ReplyTooLarge."""
    if len(data) > max_bytes:
        raise ReplyTooLarge(f"the vendor's image is larger than the {max_bytes} byte limit")
    return data
