"""Key pools: round-robin rotation with per-key cooldowns and dead keys.

One pool per vendor group (and one for the rewriting LLM). Each request starts
one step further round the ring of the keys usable now, so load and quota
spread evenly, also while a key cools (its turns are shared by all the others,
not handed to its neighbour); keys that are cooling or dead are skipped until
their time is up. What a failure does to a key is the ``KeyVerdict`` its
ProviderError class carries. With shared state (``gateway.shared_state``), every
change a report makes is handed to ``on_change`` and changes seen by other
replicas arrive through ``apply``.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import SecretStr

from providers import KeyVerdict

Clock = Callable[[], float]


def fingerprint(secret: str) -> str:
    """How a key is named in logs and /health: its last four characters, or a short hash if it is short."""
    if len(secret) >= 16:
        return f"…{secret[-4:]}"
    return "#" + hashlib.sha256(secret.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class CooldownPolicy:
    """How long each verdict keeps a key out of rotation, in seconds."""

    rate_limited: float = 5.0
    rate_limited_max: float = 300.0
    exhausted: float = 3600.0
    dead: float = 6 * 3600.0


def shared_id(secret: str) -> str:
    """A key's name in shared state: the same in every replica, and not the key."""
    return hashlib.sha256(b"imagegate-key:" + secret.encode()).hexdigest()[:32]


@dataclass(slots=True)
class Key:
    """One key and what the gateway has observed of it."""

    secret: SecretStr = field(repr=False)
    fingerprint: str
    id: str = ""
    available_at: float = 0.0
    state: str = "healthy"
    strikes: int = 0
    """Consecutive rate limits without Retry-After: each doubles the next cooldown."""

    @property
    def value(self) -> str:
        return self.secret.get_secret_value()


@dataclass(frozen=True, slots=True)
class KeyStatus:
    fingerprint: str
    state: str
    seconds_left: float | None


Changed = Callable[["KeyPool", Key, KeyVerdict | None, float | None], None]
"""Told of every report that changed a key: the verdict (None: it delivered again) and the Retry-After."""


class KeyPool:
    def __init__(self, secrets: Sequence[SecretStr], policy: CooldownPolicy, clock: Clock = time.monotonic) -> None:
        if not secrets:
            raise ValueError("a key pool needs at least one key")
        self.keys = [
            Key(secret=s, fingerprint=fingerprint(s.get_secret_value()), id=shared_id(s.get_secret_value()))
            for s in secrets
        ]
        self.policy = policy
        self._clock = clock
        self._cursor = itertools.count()
        self.on_change: Changed | None = None

    def rotation(self) -> list[Key]:
        """Keys usable now, starting one step further round their ring than the previous call."""
        now = self._clock()
        usable = [key for key in self.keys if key.available_at <= now]
        if not usable:
            return []
        start = next(self._cursor) % len(usable)
        return usable[start:] + usable[:start]

    def report_success(self, key: Key) -> None:
        if key.state == "healthy" and not key.strikes:
            return  # nothing changed: nothing to tell other replicas
        key.available_at, key.state, key.strikes = 0.0, "healthy", 0
        if self.on_change is not None:
            self.on_change(self, key, None, None)

    def apply(self, key: Key, *, seconds_left: float, state: str, strikes: int) -> None:
        """What another replica (or shared state) says of ``key``."""
        key.available_at = self._clock() + seconds_left if seconds_left > 0 else 0.0
        key.state, key.strikes = state, strikes

    def report_failure(self, key: Key, verdict: KeyVerdict, retry_after: float | None = None) -> None:
        now = self._clock()
        if verdict is KeyVerdict.DEAD:
            key.available_at, key.state = now + self.policy.dead, "dead"
        elif verdict is KeyVerdict.EXHAUSTED:
            key.available_at, key.state = now + max(self.policy.exhausted, retry_after or 0), "cooling"
        elif verdict is KeyVerdict.COOL:
            if retry_after is None:
                wait = min(self.policy.rate_limited * 2**key.strikes, self.policy.rate_limited_max)
                key.strikes += 1
            else:
                wait = retry_after
            key.available_at, key.state = now + wait, "cooling"
        if self.on_change is not None and verdict is not KeyVerdict.KEEP:
            self.on_change(self, key, verdict, retry_after)

    def seconds_until_available(self) -> float | None:
        """How long until a cooling key is back (dead keys do not count); None if none is cooling."""
        now = self._clock()
        waits = [key.available_at - now for key in self.keys if key.state == "cooling"]
        if any(key.available_at <= now for key in self.keys):
            return 0.0
        return min(waits) if waits else None

    def has_usable_key(self) -> bool:
        now = self._clock()
        return any(key.available_at <= now for key in self.keys)

    def status(self) -> list[KeyStatus]:
        """Each key as last observed: healthy, cooling or dead (seconds left), probing once a dead key's time is up."""
        now = self._clock()
        report = []
        for key in self.keys:
            if key.available_at > now:
                report.append(KeyStatus(key.fingerprint, key.state, round(key.available_at - now, 1)))
            else:
                report.append(KeyStatus(key.fingerprint, "probing" if key.state == "dead" else "healthy", None))
        return report
