"""Key pools: rotation order, cooldowns, dead keys."""

from __future__ import annotations

from pydantic import SecretStr

from gateway.keys import CooldownPolicy, KeyPool, fingerprint
from providers import KeyVerdict


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pool(*names: str, clock: FakeClock | None = None) -> KeyPool:
    policy = CooldownPolicy(rate_limited=5, rate_limited_max=40, exhausted=3600, dead=7200)
    return KeyPool([SecretStr(n) for n in names], policy, clock or FakeClock())


def first_keys(pool: KeyPool, requests: int) -> list[str]:
    return [pool.rotation()[0].value for _ in range(requests)]


def test_each_request_starts_one_key_further_round_the_ring() -> None:
    pool = make_pool("a", "b", "c")
    assert first_keys(pool, 6) == ["a", "b", "c", "a", "b", "c"]
    assert [k.value for k in pool.rotation()] == ["a", "b", "c"]
    assert [k.value for k in pool.rotation()] == ["b", "c", "a"]


def test_a_cooling_keys_turns_are_shared_by_every_usable_key_not_handed_to_its_neighbour() -> None:
    pool = make_pool("a", "b", "c", "d")
    pool.report_failure(pool.keys[1], KeyVerdict.COOL, retry_after=60)
    firsts = first_keys(pool, 300)
    assert {name: firsts.count(name) for name in "abcd"} == {"a": 100, "b": 0, "c": 100, "d": 100}


def test_a_rate_limited_key_waits_for_retry_after() -> None:
    clock = FakeClock()
    pool = make_pool("a", "b", clock=clock)
    pool.report_failure(pool.keys[0], KeyVerdict.COOL, retry_after=30)
    assert first_keys(pool, 3) == ["b", "b", "b"]
    clock.now += 29
    assert [k.value for k in pool.rotation()] == ["b"]
    clock.now += 1.5
    assert {k.value for k in pool.rotation()} == {"a", "b"}


def test_repeated_rate_limits_without_retry_after_grow_the_cooldown() -> None:
    clock = FakeClock()
    pool = make_pool("a", clock=clock)
    key = pool.keys[0]
    waits = []
    for _ in range(5):
        pool.report_failure(key, KeyVerdict.COOL)
        waits.append(key.available_at - clock.now)
        clock.now = key.available_at
    assert waits == [5, 10, 20, 40, 40]
    pool.report_success(key)
    pool.report_failure(key, KeyVerdict.COOL)
    assert key.available_at - clock.now == 5


def test_dead_keys_leave_rotation_and_are_reprobed_after_the_long_cooldown() -> None:
    clock = FakeClock()
    pool = make_pool("a", "b", clock=clock)
    pool.report_failure(pool.keys[0], KeyVerdict.DEAD)
    assert [k.value for k in pool.rotation()] == ["b"]
    assert [s.state for s in pool.status()] == ["dead", "healthy"]
    assert pool.seconds_until_available() == 0.0
    clock.now += 7200
    assert [s.state for s in pool.status()] == ["probing", "healthy"]
    assert {k.value for k in pool.rotation()} == {"a", "b"}


def test_an_exhausted_key_cools_for_the_quota_period() -> None:
    clock = FakeClock()
    pool = make_pool("a", clock=clock)
    pool.report_failure(pool.keys[0], KeyVerdict.EXHAUSTED)
    assert pool.rotation() == []
    assert pool.seconds_until_available() == 3600
    assert pool.status()[0].state == "cooling"


def test_only_dead_keys_means_no_wait_to_report() -> None:
    pool = make_pool("a")
    pool.report_failure(pool.keys[0], KeyVerdict.DEAD)
    assert pool.seconds_until_available() is None
    assert not pool.has_usable_key()


def test_fingerprints_never_hold_the_key() -> None:
    long_key = "sk-live-0123456789abcdef"
    assert fingerprint(long_key) == "…cdef"
    short = fingerprint("abc")
    assert short.startswith("#") and "abc" not in short
