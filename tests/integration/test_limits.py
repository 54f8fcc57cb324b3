"""Client limits: over one, a 429 that names it and says when it resets; counts survive a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png
from tests.support.redis import RedisServer

ALICE, BOB = "sk-alice-000000000001", "sk-bob-0000000000002"
BASE = vendor_env(1, "openai", "https://o.example/v1", "pic", "sk-o-000000000001") | {
    "IMAGE_GEN_COST_1": "0.04",
    "AUTHORIZED_API_KEY": f"alice:{ALICE},bob:{BOB}",
}
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)


@pytest.fixture(autouse=True)
def vendor(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://o.example/v1/images/generations", json={"data": [{"b64_json": b64(png())}]}, is_reusable=True
    )


def env(limits: dict[str, dict[str, float]], database_url: str, **extra: str) -> dict[str, str]:
    return BASE | {"CLIENT_LIMITS": json.dumps(limits), "DATABASE_URL": database_url} | extra


async def generate(client: AsyncTestClient, key: str, n: int = 1) -> Response:  # type: ignore[type-arg]
    body = {"prompt": "a fox", "model": "pic", "n": n}
    return await client.post("/v1/images/generations", json=body, headers={"Authorization": f"Bearer {key}"})


async def test_images_per_minute(httpx_mock: HTTPXMock, database_url: str) -> None:
    async with app_client(make_settings(env({"alice": {"images_per_minute": 2}}, database_url))) as client:
        statuses = [(await generate(client, ALICE)).status_code for _ in range(2)]
        refused = await generate(client, ALICE)
        other = await generate(client, BOB)
    assert statuses == [200, 200] and other.status_code == 200
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "rate_limit_error",
        "client_limit_reached",
        "images_per_minute",
    )
    assert error["message"].startswith("client 'alice' reached its limit of 2 images per minute; it resets in ")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(httpx_mock.get_requests()) == 3  # the refused request called no vendor


async def test_images_per_day_counts_every_picture_of_a_request(database_url: str) -> None:
    async with app_client(make_settings(env({"*": {"images_per_day": 3}}, database_url))) as client:
        first = await generate(client, ALICE, n=2)
        second = await generate(client, ALICE, n=2)
        chat = await client.post(
            "/v1/chat/completions",
            json={"model": "pic", "n": 2, "messages": [{"role": "user", "content": "a fox"}]},
            headers={"Authorization": f"Bearer {ALICE}"},
        )
    assert first.status_code == 200
    assert second.status_code == chat.status_code == 429
    assert second.json()["error"]["param"] == "images_per_day"
    assert int(second.headers["retry-after"]) <= 24 * 3600


async def test_a_daily_budget_at_the_configured_price(database_url: str) -> None:
    async with app_client(make_settings(env({"alice": {"budget_per_day": 0.1}}, database_url))) as client:
        made = [await generate(client, ALICE) for _ in range(3)]
    assert [reply.status_code for reply in made] == [200, 200, 429]  # 0.04 + 0.04 + 0.04 > 0.10
    assert made[2].json()["error"]["param"] == "budget_per_day"
    assert "a budget of 0.1 per day" in made[2].json()["error"]["message"]


async def test_a_monthly_budget_spent_before_a_restart_stays_spent(database_url: str) -> None:
    database = {"DATABASE_URL": database_url}
    async with app_client(make_settings(BASE | database)) as client:
        for _ in range(2):
            assert (await generate(client, ALICE)).status_code == 200
    restarted = make_settings(env({"alice": {"budget_per_month": 0.1}}, database_url))
    async with app_client(restarted) as client:
        refused = await generate(client, ALICE, n=1)
    assert refused.status_code == 429 and refused.json()["error"]["param"] == "budget_per_month"


def test_limits_are_checked_when_the_settings_are_read() -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match=r"CLIENT_LIMITS\.ALICE\.IMAGES_PER_HOUR: Extra inputs are not permitted"):
        make_settings(env({"alice": {"images_per_hour": 3}}, "sqlite:///:memory:"))


async def test_with_redis_every_replica_counts_against_the_same_limits(
    httpx_mock: HTTPXMock, tmp_path: Path, redis: RedisServer
) -> None:
    limits = {"alice": {"images_per_minute": 3, "budget_per_day": 0.2}}
    settings = make_settings(env(limits, f"sqlite:///{tmp_path / 'records.db'}", REDIS_URL=redis.url))
    async with app_client(settings) as first, app_client(settings) as second:
        made = [(await generate(replica, ALICE)).status_code for replica in (first, second, first)]
        await asyncio.sleep(0.1)  # the counts reach Redis in the background
        over = await generate(second, ALICE)
        bob = await generate(second, BOB)
    assert made == [200, 200, 200] and bob.status_code == 200
    assert over.status_code == 429 and over.json()["error"]["param"] == "images_per_minute"
    assert len(httpx_mock.get_requests()) == 4


async def test_with_redis_down_each_replica_still_keeps_the_limits(
    httpx_mock: HTTPXMock, tmp_path: Path, redis: RedisServer
) -> None:
    limits = {"alice": {"images_per_minute": 2}}
    settings = make_settings(env(limits, f"sqlite:///{tmp_path / 'records.db'}", REDIS_URL=redis.url))
    async with app_client(settings) as client:
        redis.stop()
        statuses = [(await generate(client, ALICE)).status_code for _ in range(3)]
        ready = (await client.get("/health/ready", headers={"Authorization": f"Bearer {ALICE}"})).json()
    assert statuses == [200, 200, 429]
    assert ready["shared_state"] == "redis unavailable (serving from local state)"
