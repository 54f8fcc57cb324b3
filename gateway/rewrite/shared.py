"""The rewriting LLM's cache and single flight shared by every replica through Redis (``REDIS_URL``).

A rewrite is kept under a hash of what was asked (mode, model, idea or change)
for ``REWRITE_CACHE_SECONDS``, so an idea rewritten by one replica is a cache hit
at every other. When several replicas meet the same idea at once, one takes a
short lock and asks the LLM; the others wait for its answer in the cache (and
ask themselves if it fails or takes longer than ``REWRITE_TIMEOUT``). Redis down:
each replica asks and caches on its own, as without Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as redis

from gateway.rewrite.reply import Rewrite
from gateway.shared_state import SharedState

CACHED = "imagegate:rewrite:"
ASKING = "imagegate:rewrite-asking:"
POLL_SECONDS = 0.05


def digest(key: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()


class SharedRewrites:
    def __init__(self, state: SharedState, *, ttl: float, wait: float) -> None:
        self._state = state
        self._ttl = ttl
        self._wait = wait

    async def get(self, key: tuple[str, ...]) -> Rewrite | None:
        if not self._ttl:
            return None
        try:
            raw = await self._state.client.get(CACHED + digest(key))
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)
            return None
        if raw is None:
            return None
        stored = json.loads(raw)
        return Rewrite(stored["prompt"], stored.get("reasoning", ""))

    async def put(self, key: tuple[str, ...], rewrite: Rewrite) -> None:
        if not self._ttl:
            return
        value = json.dumps({"prompt": rewrite.prompt, "reasoning": rewrite.reasoning})
        try:
            await self._state.client.set(CACHED + digest(key), value, px=int(self._ttl * 1000))
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)

    async def once(self, key: tuple[str, ...], ask: Callable[[], Awaitable[Rewrite]]) -> Rewrite:
        """``ask()`` here, unless another replica is asking the same: then its answer."""
        lock = ASKING + digest(key)
        try:
            mine = await self._state.client.set(lock, secrets.token_hex(8), nx=True, px=int(self._wait * 1000))
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)
            return await ask()
        if mine:
            try:
                answer = await ask()
                await self.put(key, answer)
                return answer
            finally:
                await self._release(lock)
        deadline = time.monotonic() + self._wait
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            found = await self.get(key)
            if found is not None:
                return found
            if not await self._held(lock):  # the asking replica failed or gave up: ask here
                break
        return await ask()

    async def _held(self, lock: str) -> bool:
        try:
            return bool(await self._state.client.exists(lock))
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)
            return False

    async def _release(self, lock: str) -> None:
        try:
            await self._state.client.delete(lock)
        except (redis.RedisError, OSError) as error:
            self._state.lost(error)
