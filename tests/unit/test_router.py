"""The failover loop, against vendors mocked at the HTTP layer."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pytest_httpx import HTTPXMock

from gateway.errors import ModelNotFound, NoCapacity, UpstreamFailed, VendorRejected
from gateway.keys import CooldownPolicy
from gateway.router import RetryPolicy, Router
from providers import ImageJob
from tests.support.app import make_settings, vendor_env

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
A = "https://a.example/v1/images/generations"
B = "https://b.example/v1/images/generations"
JOB = ImageJob(prompt="a cat", width=1024, height=1024, model="cat")
OK = {"data": [{"b64_json": PNG_B64}]}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_router(client: httpx.AsyncClient, env: dict[str, str], **policy: float) -> Router:
    settings = make_settings(env)
    return Router(
        settings.vendor_groups,
        client,
        policy=RetryPolicy(backoff=0, **policy),  # type: ignore[arg-type]
        cooldowns=CooldownPolicy(),
    )


def two_groups(keys_a: str = "ka1,ka2", keys_b: str = "kb1") -> dict[str, str]:
    return vendor_env(1, "openai", "https://a.example/v1", "cat=a-cat", keys_a) | vendor_env(
        2, "openai", "https://b.example/v1", "cat=b-cat", keys_b
    )


def calls(httpx_mock: HTTPXMock) -> list[tuple[str, str]]:
    return [(str(r.url), r.headers["authorization"].removeprefix("Bearer ")) for r in httpx_mock.get_requests()]


async def test_keys_rotate_round_robin_across_requests(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(client, vendor_env(1, "openai", "https://a.example/v1", "cat", "k1,k2,k3"))
    httpx_mock.add_response(url=A, json=OK, is_reusable=True)
    for _ in range(4):
        await router.generate("cat", JOB)
    assert [key for _, key in calls(httpx_mock)] == ["k1", "k2", "k3", "k1"]


async def test_dead_and_rate_limited_keys_fail_over_to_the_next_group(
    httpx_mock: HTTPXMock, client: httpx.AsyncClient
) -> None:
    router = make_router(client, two_groups())
    httpx_mock.add_response(url=A, match_headers={"Authorization": "Bearer ka1"}, status_code=401)
    httpx_mock.add_response(
        url=A, match_headers={"Authorization": "Bearer ka2"}, status_code=429, headers={"Retry-After": "120"}
    )
    httpx_mock.add_response(url=B, json=OK)
    generated = await router.generate("cat", JOB)
    assert calls(httpx_mock) == [(A, "ka1"), (A, "ka2"), (B, "kb1")]
    assert generated.route.group.name == "group2" and generated.attempts == 3
    assert [s.state for s in router.pools["group1"].status()].count("dead") == 1
    cooling = [s for s in router.pools["group1"].status() if s.state == "cooling"]
    assert len(cooling) == 1 and 119 <= (cooling[0].seconds_left or 0) <= 120


async def test_the_vendor_model_id_is_sent_per_route(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(client, two_groups())
    httpx_mock.add_response(url=A, status_code=500, is_reusable=True)
    httpx_mock.add_response(url=B, json=OK)
    await router.generate("cat", JOB)
    models = [json.loads(r.content)["model"] for r in httpx_mock.get_requests()]
    assert models == ["a-cat", "b-cat"]


async def test_a_server_error_moves_to_the_next_route_without_trying_more_keys(
    httpx_mock: HTTPXMock, client: httpx.AsyncClient
) -> None:
    router = make_router(client, two_groups())
    httpx_mock.add_response(url=A, status_code=502)
    httpx_mock.add_response(url=B, json=OK)
    await router.generate("cat", JOB)
    assert calls(httpx_mock) == [(A, "ka1"), (B, "kb1")]


async def test_a_vendor_400_goes_back_to_the_client_without_failover(
    httpx_mock: HTTPXMock, client: httpx.AsyncClient
) -> None:
    router = make_router(client, two_groups())
    httpx_mock.add_response(url=A, status_code=400, json={"error": {"message": "unsafe prompt"}})
    with pytest.raises(VendorRejected) as raised:
        await router.generate("cat", JOB)
    assert raised.value.message == "unsafe prompt"
    assert len(httpx_mock.get_requests()) == 1


async def test_only_cooling_keys_give_503_with_retry_after(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(client, vendor_env(1, "openai", "https://a.example/v1", "cat", "k1,k2"))
    httpx_mock.add_response(url=A, status_code=429, headers={"Retry-After": "40"})
    httpx_mock.add_response(url=A, status_code=429, headers={"Retry-After": "25"})
    with pytest.raises(NoCapacity) as raised:
        await router.generate("cat", JOB)
    assert raised.value.headers["Retry-After"] == "25"
    with pytest.raises(NoCapacity):
        await router.generate("cat", JOB)
    assert len(httpx_mock.get_requests()) == 2


async def test_dead_keys_everywhere_give_502(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(client, two_groups(keys_a="ka1", keys_b="kb1"))
    httpx_mock.add_response(url=A, status_code=401)
    httpx_mock.add_response(url=B, status_code=403)
    with pytest.raises(UpstreamFailed) as raised:
        await router.generate("cat", JOB)
    assert "key_rejected" in raised.value.message


async def test_when_every_route_is_down_the_pass_is_repeated_then_502(
    httpx_mock: HTTPXMock, client: httpx.AsyncClient
) -> None:
    router = make_router(client, two_groups(), rounds=3)
    httpx_mock.add_response(url=A, status_code=503, is_reusable=True)
    httpx_mock.add_response(url=B, status_code=500, is_reusable=True)
    with pytest.raises(UpstreamFailed) as raised:
        await router.generate("cat", JOB)
    assert [url for url, _ in calls(httpx_mock)] == [A, B] * 3
    assert "vendor_unavailable" in raised.value.message


async def test_a_recovered_route_is_used_on_the_next_pass(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(client, vendor_env(1, "openai", "https://a.example/v1", "cat", "k1"), rounds=2)
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=A)
    httpx_mock.add_response(url=A, json=OK)
    generated = await router.generate("cat", JOB)
    assert generated.attempts == 2


async def test_attempts_are_bounded(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(
        client, vendor_env(1, "openai", "https://a.example/v1", "cat", "k1,k2,k3,k4,k5"), max_attempts=3
    )
    httpx_mock.add_response(url=A, status_code=429, is_reusable=True)
    with pytest.raises(NoCapacity):
        await router.generate("cat", JOB)
    assert len(httpx_mock.get_requests()) == 3


async def test_a_slow_vendor_is_cut_off_by_the_deadline(httpx_mock: HTTPXMock, client: httpx.AsyncClient) -> None:
    router = make_router(client, vendor_env(1, "openai", "https://a.example/v1", "cat", "k1"), deadline=0.3, rounds=5)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=A, is_reusable=True)
    with pytest.raises(UpstreamFailed):
        await router.generate("cat", JOB)


async def test_an_unknown_model_lists_the_available_ones(client: httpx.AsyncClient) -> None:
    router = make_router(client, two_groups())
    with pytest.raises(ModelNotFound) as raised:
        await router.generate("dog", JOB)
    assert "cat" in raised.value.message and raised.value.param == "model"
