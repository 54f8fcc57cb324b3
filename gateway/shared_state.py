"""State shared by every replica through Redis (``REDIS_URL``): key cooldowns, dead keys and strikes, route health.

Each process keeps its own pools as the cache it reads on every attempt (no
round trip per attempt). A report that changes a key goes to Redis in one Lua
script, which merges it atomically with what other replicas reported (a
cooldown only ever lengthens, strikes count every replica's rate limits, so
no update is lost) and publishes the result; every replica's subscriber
applies it at once, so a 429 seen by replica A keeps replica B off that key on
its next attempt. Keys are named by ``keys.shared_id`` (a hash), never by
their secret.

A route that fails over (``ROUTE_UNHEALTHY_SECONDS``) or delivers again is
published the same way (the last word wins: health is a hint, not a count).
The rewriting LLM's cache and single flight use the same connection
(gateway/rewrite/shared.py).

Redis down or slow: reports apply locally as before, the outage is logged once,
and the keys changed meanwhile are pushed when Redis answers again (after
which every key's state is read back).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import redis.asyncio as redis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.keys import Key, KeyPool
from gateway.router import Route, Router
from providers import KeyVerdict

CHANNEL = "imagegate:keys"
PREFIX = "imagegate:key:"
TIMEOUT_SECONDS = 0.5
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)

log = structlog.get_logger("gateway.shared_state")

# KEYS[1] the key's hash; ARGV: verdict, now (epoch s), retry_after ("" if none), rate_limited, rate_limited_max,
# exhausted, dead, id. Returns {available_at, state, strikes} after the merge, and publishes them.
REPORT = """
local key, verdict, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local retry_after = tonumber(ARGV[3])
local available = tonumber(redis.call('HGET', key, 'available_at') or '0')
local strikes = tonumber(redis.call('HGET', key, 'strikes') or '0')
local state = redis.call('HGET', key, 'state') or 'healthy'
if verdict == 'ok' then
  available, state, strikes = 0, 'healthy', 0
elseif verdict == 'dead' then
  available, state = math.max(available, now + tonumber(ARGV[7])), 'dead'
elseif verdict == 'exhausted' then
  available = math.max(available, now + math.max(tonumber(ARGV[6]), retry_after or 0))
  if state ~= 'dead' then state = 'cooling' end
else
  local wait = retry_after
  if wait == nil then
    wait = math.min(tonumber(ARGV[4]) * 2 ^ strikes, tonumber(ARGV[5]))
    strikes = strikes + 1
  end
  available = math.max(available, now + wait)
  if state ~= 'dead' then state = 'cooling' end
end
redis.call('HSET', key, 'available_at', available, 'state', state, 'strikes', strikes)
redis.call('EXPIRE', key, 86400 * 2)
redis.call('PUBLISH', KEYS[2], 'key|' .. ARGV[8] .. '|' .. available .. '|' .. state .. '|' .. strikes)
return {tostring(available), state, strikes}
"""


class SharedState:
    def __init__(self, url: str, pools: list[KeyPool], routers: list[Router] | None = None) -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            decode_responses=True,
            retry=Retry(NoBackoff(), 1),  # one more try (a stale connection after a restart), never seconds of backoff
        )
        self._pools = pools
        self._keys: dict[str, list[tuple[KeyPool, Key]]] = {}
        for pool in pools:
            pool.on_change = self._changed
            for key in pool.keys:
                self._keys.setdefault(key.id, []).append((pool, key))
        self._routes: dict[str, list[Route]] = {}
        for router in routers or []:
            router.on_route_change = self._route_changed
            for routes in router.routes.values():
                for route in routes:
                    self._routes.setdefault(route.name, []).append(route)
        self._report = self._client.register_script(REPORT)
        self._pending: dict[str, tuple[KeyPool, Key, KeyVerdict | None, float | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self.available = False
        """Whether Redis answered last time it was asked (``/health/ready`` shows it)."""
        self._clock = time.monotonic

    async def start(self) -> None:
        """Read every key's state, then follow the changes (reconnecting whenever Redis comes back)."""
        with contextlib.suppress(redis.RedisError, OSError):
            await self._load()
            self.available = True
        if not self.available:
            log.warning("shared_state.unavailable", reason="Redis does not answer; serving from local key state")
        self._listener = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        await self._client.aclose()

    def _changed(self, pool: KeyPool, key: Key, verdict: KeyVerdict | None, retry_after: float | None) -> None:
        task = asyncio.get_running_loop().create_task(self._push(pool, key, verdict, retry_after))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, pool: KeyPool, key: Key, verdict: KeyVerdict | None, retry_after: float | None) -> None:
        policy = pool.policy
        arguments = [
            "ok" if verdict is None else verdict.value,
            time.time(),
            "" if retry_after is None else retry_after,
            policy.rate_limited,
            policy.rate_limited_max,
            policy.exhausted,
            policy.dead,
            key.id,
        ]
        try:
            available, state, strikes = await self._report(keys=[PREFIX + key.id, CHANNEL], args=arguments)
        except (redis.RedisError, OSError) as error:
            self._pending[key.id] = (pool, key, verdict, retry_after)  # pushed when Redis is back
            self._lost(error)
            return
        self._apply(key.id, float(available), state, int(strikes))

    def _apply(self, key_id: str, available_at: float, state: str, strikes: int) -> None:
        seconds_left = available_at - time.time() if available_at else 0.0
        for pool, key in self._keys.get(key_id, []):
            pool.apply(key, seconds_left=seconds_left, state=state, strikes=strikes)

    async def _load(self) -> None:
        """Every known key's state from Redis (those Redis has never heard of stay as they are)."""
        ids = list(self._keys)
        async with self._client.pipeline(transaction=False) as pipe:
            for key_id in ids:
                pipe.hgetall(PREFIX + key_id)
            found: list[dict[str, Any]] = await pipe.execute()
        for key_id, fields in zip(ids, found, strict=True):
            if fields:
                self._apply(key_id, float(fields["available_at"]), fields["state"], int(fields["strikes"]))

    async def _follow(self) -> None:
        failures = 0
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._caught_up()
                    failures = 0
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as error:
                self._lost(error)
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1

    async def _caught_up(self) -> None:
        """After (re)connecting: push what changed while Redis was away, then read every key back."""
        pending, self._pending = self._pending, {}
        for pool, key, verdict, retry_after in pending.values():
            await self._push(pool, key, verdict, retry_after)
        await self._load()
        was, self.available = self.available, True
        if not was:
            log.info("shared_state.restored", pushed=len(pending))

    @property
    def client(self) -> redis.Redis:
        return self._client

    def lost(self, error: BaseException) -> None:
        """Redis failed a call: serve from local state (logged once until it answers again)."""
        self._lost(error)

    def _route_changed(self, route: Route) -> None:
        until = time.time() + (route.unhealthy_until - self._clock()) if route.unhealthy_until else 0.0
        message = f"route|{route.name}|{until}|{route.failures_in_a_row}"
        task = asyncio.get_running_loop().create_task(self._publish(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self._client.publish(CHANNEL, message)
        except (redis.RedisError, OSError) as error:
            self._lost(error)

    def _heard(self, data: str) -> None:
        kind, _, rest = data.partition("|")
        try:
            if kind == "key":
                key_id, available, state, strikes = rest.split("|")
                self._apply(key_id, float(available), state, int(strikes))
            elif kind == "route":
                name, until, failures = rest.rsplit("|", 2)
                self._route_heard(name, float(until), int(failures))
        except ValueError:
            log.warning("shared_state.bad_message")

    def _route_heard(self, name: str, until: float, failures: int) -> None:
        left = until - time.time() if until else 0.0
        for route in self._routes.get(name, []):
            route.unhealthy_until = self._clock() + left if left > 0 else 0.0
            route.failures_in_a_row = failures

    def _lost(self, error: BaseException) -> None:
        was, self.available = self.available, False
        if was:
            log.warning("shared_state.unavailable", error=type(error).__name__, reason="serving from local key state")
