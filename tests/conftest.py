"""Fixtures for every kind of test: a real Redis server, started once, emptied before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis import RedisServer, flush, installed, redis_server


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RedisServer]:
    if not installed():
        pytest.skip("redis-server is not installed here (.ci/run installs it: apt-get install redis-server)")
    with redis_server() as server:
        yield server


@pytest.fixture
def redis(redis_session: RedisServer) -> RedisServer:
    """The Redis server with nothing in it (and running, should an earlier test have stopped it)."""
    redis_session.ensure_running()
    flush(redis_session)
    return redis_session
