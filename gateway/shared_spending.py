"""Client limits counted in Redis (``REDIS_URL``), so a client's minute, day and month are the same at every replica.

Per client: the last minute's pictures as a sorted set of times, the day's
pictures and cost and the month's cost as hashes that expire after their
period. A check is one pipelined round trip (only for clients with limits), a
count another, sent in the background. The first check of a day or month that
Redis has no count for seeds it from the records (``HSETNX``: replicas seeding
at once agree). Redis down: ``spent`` answers None and each replica counts on
its own, as without Redis. A check and its count are not one transaction:
requests racing each other at a limit can pass it by a picture or two.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Awaitable, Callable

import redis.asyncio as redis

from gateway.limits import MINUTE, Spent, day_of, month_of
from gateway.shared_state import SharedState

PREFIX = "imagegate:spent:"
DAY_KEPT = 3 * 24 * 3600
MONTH_KEPT = 40 * 24 * 3600


class SharedSpending:
    def __init__(self, state: SharedState) -> None:
        self._state = state
        self._tasks: set[asyncio.Task[None]] = set()

    async def spent(self, client: str, now: float, seeded: Callable[[], Awaitable[Spent]]) -> Spent | None:
        """What ``client`` has spent, counted by every replica; None when Redis does not answer."""
        if not self._state.available:
            return None
        minute, day, month = self._keys(client, now)
        try:
            async with self._state.client.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(minute, 0, now - MINUTE)
                pipe.zrange(minute, 0, -1, withscores=True)
                pipe.hgetall(day)
                pipe.hget(month, "cost")
                _, times, today, this_month = await pipe.execute()
            if not today or this_month is None:
                today, this_month = await self._seed(client, day, month, await seeded())
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)
            return None
        return Spent(
            minute=deque(sorted(score for _, score in times)),
            day=day_of(now),
            day_images=int(today.get("images", 0)),
            day_cost=float(today.get("cost", 0.0)),
            month=month_of(now),
            month_cost=float(this_month),
        )

    def count(self, client: str, now: float, images: int, cost: float) -> None:
        """Add what was just made, in the background."""
        task = asyncio.get_running_loop().create_task(self._count(client, now, images, cost))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _count(self, client: str, now: float, images: int, cost: float) -> None:
        minute, day, month = self._keys(client, now)
        token = secrets.token_hex(4)
        try:
            async with self._state.client.pipeline(transaction=False) as pipe:
                pipe.zadd(minute, {f"{now}:{token}:{i}": now for i in range(images)})
                pipe.expire(minute, int(MINUTE) * 2)
                pipe.hincrby(day, "images", images)
                pipe.hincrbyfloat(day, "cost", cost)
                pipe.expire(day, DAY_KEPT)
                pipe.hincrbyfloat(month, "cost", cost)
                pipe.expire(month, MONTH_KEPT)
                await pipe.execute()
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)

    async def _seed(self, client: str, day: str, month: str, seed: Spent) -> tuple[dict[str, str], str]:
        """The day's and month's counts from the records, unless another replica seeded them first."""
        async with self._state.client.pipeline(transaction=False) as pipe:
            pipe.hsetnx(day, "images", seed.day_images)
            pipe.hsetnx(day, "cost", seed.day_cost)
            pipe.expire(day, DAY_KEPT)
            pipe.hsetnx(month, "cost", seed.month_cost)
            pipe.expire(month, MONTH_KEPT)
            pipe.hgetall(day)
            pipe.hget(month, "cost")
            *_, today, this_month = await pipe.execute()
        return today, this_month

    @staticmethod
    def _keys(client: str, now: float) -> tuple[str, str, str]:
        base = f"{PREFIX}{client}:"
        return f"{base}minute", f"{base}day:{day_of(now)}", f"{base}month:{month_of(now)}"
