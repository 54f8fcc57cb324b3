"""One way to call a vendor over HTTP and classify how it failed.

Status codes and httpx exception types map to ProviderError classes through the
tables below; message text is never parsed. The only body field read for
classification is a structured error ``code`` (to tell quota exhaustion from a
plain rate limit).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

from providers.base import (
    KeyExhausted,
    KeyRejected,
    MalformedReply,
    ProviderError,
    RateLimited,
    RequestRejected,
    VendorBusy,
    VendorUnavailable,
)


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


async def post_json(client: httpx.AsyncClient, url: str, *, key: str, payload: dict[str, Any]) -> httpx.Response:
    """POST ``payload`` with the key as a bearer token; a non-2xx reply raises its classified error."""
    async with translate_transport_errors():
        response = await client.post(url, json=payload, headers=bearer(key))
    if not response.is_success:
        raise error_for_response(response, key=key)
    return response


def error_for_response(response: httpx.Response, *, key: str = "") -> ProviderError:
    """The classified error for a non-2xx vendor reply."""
    status = response.status_code
    body = _json_or_none(response)
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


def read_json(response: httpx.Response) -> Any:
    """The reply's JSON body (msgspec: replies carry megabytes of base64); not JSON is a MalformedReply."""
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError as error:
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


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def decode_base64(text: str) -> bytes:
    """Bytes of a base64 payload (a bare string or a ``data:`` URI); unreadable -> MalformedReply."""
    _, sep, payload = text.partition(";base64,")
    try:
        return base64.b64decode(payload if sep else text, validate=False)
    except (binascii.Error, ValueError) as error:
        raise MalformedReply("the vendor sent an unreadable base64 image") from error
