"""Classification of vendor failures: by status code and exception type, never by message text."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pytest_httpx import HTTPXMock

from providers import (
    KeyExhausted,
    KeyRejected,
    KeyVerdict,
    MalformedReply,
    NextStep,
    ProviderError,
    RateLimited,
    RequestRejected,
    VendorUnavailable,
)
from providers.http import parse_retry_after, post_json

URL = "https://vendor.example/v1/images/generations"


async def call(key: str = "sk-test-key") -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await post_json(client, URL, key=key, payload={"prompt": "a cat"}, max_bytes=1024)


@pytest.mark.parametrize(
    ("status", "error_type", "verdict", "step"),
    [
        (400, RequestRejected, KeyVerdict.KEEP, NextStep.STOP),
        (401, KeyRejected, KeyVerdict.DEAD, NextStep.NEXT_KEY),
        (402, KeyExhausted, KeyVerdict.EXHAUSTED, NextStep.NEXT_KEY),
        (403, KeyRejected, KeyVerdict.DEAD, NextStep.NEXT_KEY),
        (404, VendorUnavailable, KeyVerdict.KEEP, NextStep.NEXT_ROUTE),
        (422, RequestRejected, KeyVerdict.KEEP, NextStep.STOP),
        (429, RateLimited, KeyVerdict.COOL, NextStep.NEXT_KEY),
        (500, VendorUnavailable, KeyVerdict.KEEP, NextStep.NEXT_ROUTE),
        (503, VendorUnavailable, KeyVerdict.KEEP, NextStep.NEXT_ROUTE),
    ],
)
async def test_status_codes_map_to_classified_errors(
    httpx_mock: HTTPXMock, status: int, error_type: type[ProviderError], verdict: KeyVerdict, step: NextStep
) -> None:
    httpx_mock.add_response(url=URL, status_code=status, json={"error": {"message": "nope"}})
    with pytest.raises(error_type) as raised:
        await call()
    assert type(raised.value) is error_type
    assert raised.value.key_verdict is verdict
    assert raised.value.next_step is step
    assert raised.value.vendor_status == status


async def test_the_key_is_sent_as_a_bearer_token(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json={})
    await call("sk-abc")
    assert httpx_mock.get_request().headers["authorization"] == "Bearer sk-abc"


@pytest.mark.parametrize("code", ["insufficient_quota", "billing_hard_limit_reached"])
async def test_a_quota_429_is_exhaustion_not_a_rate_limit(httpx_mock: HTTPXMock, code: str) -> None:
    httpx_mock.add_response(url=URL, status_code=429, json={"error": {"code": code, "message": "x"}})
    with pytest.raises(KeyExhausted):
        await call()


async def test_retry_after_is_read_from_the_header(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=429, headers={"Retry-After": "17"})
    with pytest.raises(RateLimited) as raised:
        await call()
    assert raised.value.retry_after == 17


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:42 GMT", now=now) == 42
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_a_rejected_request_carries_the_vendors_short_message_only(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL, status_code=400, json={"error": {"message": "prompt violates the content policy", "trace": "x" * 5000}}
    )
    with pytest.raises(RequestRejected) as raised:
        await call()
    assert raised.value.message == "prompt violates the content policy"


async def test_a_key_echoed_by_the_vendor_is_blanked(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=400, json={"error": {"message": "bad key sk-echoed-123"}})
    with pytest.raises(RequestRejected) as raised:
        await call("sk-echoed-123")
    assert "sk-echoed-123" not in raised.value.message
    assert "sk-echoed-123" not in raised.value.detail


@pytest.mark.parametrize(
    ("exception", "error_type"),
    [
        (httpx.ReadTimeout("slow"), VendorUnavailable),
        (httpx.ConnectError("refused"), VendorUnavailable),
        (httpx.RemoteProtocolError("broken"), VendorUnavailable),
        (httpx.DecodingError("garbled"), MalformedReply),
    ],
)
async def test_transport_failures_are_route_level(
    httpx_mock: HTTPXMock, exception: Exception, error_type: type[ProviderError]
) -> None:
    httpx_mock.add_exception(exception, url=URL)
    with pytest.raises(error_type) as raised:
        await call()
    assert raised.value.next_step is NextStep.NEXT_ROUTE
