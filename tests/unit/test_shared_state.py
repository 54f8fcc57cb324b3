"""Key state shared through a real ``redis-server``: what one replica learns of a key, every replica acts on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from gateway.keys import CooldownPolicy, KeyPool
from gateway.logging import configure_logging
from gateway.shared_state import PREFIX, SharedState
from providers import KeyVerdict
from tests.support.redis import RedisServer

SECRETS = ["sk-vendor-key-one-0001", "sk-vendor-key-two-0002", "sk-vendor-key-three-03"]
POLICY = CooldownPolicy(rate_limited=5, rate_limited_max=300, exhausted=3600, dead=7200)


@pytest.fixture
def server(redis: RedisServer) -> RedisServer:
    configure_logging("json")  # onto this test's stderr (an earlier test's captured one may be closed)
    return redis


@asynccontextmanager
async def replica(url: str) -> AsyncIterator[KeyPool]:
    """One replica's key pool, its state shared through Redis."""
    pool = KeyPool([SecretStr(secret) for secret in SECRETS], POLICY)
    shared = SharedState(url, [pool])
    await shared.start()
    try:
        yield pool
    finally:
        await shared.stop()


async def eventually(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not come true")


def usable(pool: KeyPool) -> set[str]:
    return {key.value for key in pool.rotation()}


async def test_a_rate_limit_seen_by_one_replica_keeps_the_others_off_the_key(server: RedisServer) -> None:
    async with replica(server.url) as first, replica(server.url) as second, replica(server.url) as third:
        first.report_failure(first.keys[0], KeyVerdict.COOL, retry_after=30)
        await eventually(lambda: SECRETS[0] not in usable(second) and SECRETS[0] not in usable(third))
        status = second.status()[0]
    assert status.state == "cooling" and status.seconds_left is not None and 28 < status.seconds_left <= 30
    assert usable(second) == set(SECRETS[1:])


async def test_a_dead_key_is_dead_everywhere_and_a_success_revives_it_everywhere(server: RedisServer) -> None:
    async with replica(server.url) as first, replica(server.url) as second:
        second.report_failure(second.keys[1], KeyVerdict.DEAD)
        await eventually(lambda: first.status()[1].state == "dead")
        first.report_success(first.keys[1])
        await eventually(lambda: second.status()[1].state == "healthy")
    assert SECRETS[1] in usable(second)


async def test_concurrent_rate_limits_from_many_tasks_and_replicas_are_all_counted(server: RedisServer) -> None:
    async with replica(server.url) as first, replica(server.url) as second:

        async def report(pool: KeyPool) -> None:
            pool.report_failure(pool.keys[2], KeyVerdict.COOL)
            await asyncio.sleep(0)

        await asyncio.gather(*(report(pool) for pool in (first, second) for _ in range(25)))
        client = aioredis.Redis.from_url(server.url, decode_responses=True)
        await eventually(lambda: first.keys[2].strikes == 50 and second.keys[2].strikes == 50)
        stored = await client.hgetall(PREFIX + first.keys[2].id)
        await client.aclose()
    assert int(stored["strikes"]) == 50  # no report lost to a concurrent one
    assert first.status()[2].seconds_left == pytest.approx(300, abs=2)  # the doubling reached the cap


async def test_a_replica_started_later_reads_the_state_already_there(server: RedisServer) -> None:
    async with replica(server.url) as first:
        first.report_failure(first.keys[0], KeyVerdict.EXHAUSTED)
        await eventually(lambda: True)
        await asyncio.sleep(0.1)
        async with replica(server.url) as late:
            status = late.status()[0]
    assert status.state == "cooling" and status.seconds_left == pytest.approx(3600, abs=5)


async def test_without_redis_a_replica_keeps_serving_and_catches_up_when_it_returns(server: RedisServer) -> None:
    pool = KeyPool([SecretStr(secret) for secret in SECRETS], POLICY)
    shared = SharedState(server.url, [pool])
    await shared.start()
    try:
        server.stop()
        pool.report_failure(pool.keys[0], KeyVerdict.COOL, retry_after=60)  # no error, applied here at once
        assert SECRETS[0] not in usable(pool)
        await eventually(lambda: not shared.available)
        server.start()
        await eventually(lambda: shared.available, seconds=10)
        async with replica(server.url) as other:  # what happened during the outage reached Redis
            await eventually(lambda: SECRETS[0] not in usable(other))
    finally:
        await shared.stop()
