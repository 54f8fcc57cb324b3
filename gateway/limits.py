"""Client limits (``CLIENT_LIMITS``): images per minute and per day, spending per day and month.

Checked before a picture is made, counted once it is recorded. Over a limit,
the answer is a 429 that names the limit and says when it resets
(``Retry-After``). Counts live in this process and are seeded from the records
the first time a client is seen after a start, so a restart does not reset a
day's budget; several replicas each count their own until shared state
(Redis) counts for all. Days and months are UTC.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from config.settings import ClientLimits
from gateway.clients import Clients
from gateway.errors import ClientLimited
from gateway.records import Database, Record
from gateway.records.queries import usage

if TYPE_CHECKING:
    from gateway.shared_spending import SharedSpending

MINUTE = 60.0
EVERY_CLIENT = "*"


@dataclass(slots=True)
class Spent:
    """What one client has made: in the last minute, today, this month."""

    minute: deque[float] = field(default_factory=deque)
    day: str = ""
    day_images: int = 0
    day_cost: float = 0.0
    month: str = ""
    month_cost: float = 0.0


class Limits:
    def __init__(
        self,
        limits: dict[str, ClientLimits],
        database: Database,
        clients: Clients,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = limits
        self._database = database
        self._clients = clients
        self._clock = clock
        self._spent: dict[str, Spent] = {}
        self.shared: SharedSpending | None = None
        """Counts kept in Redis for every replica (``REDIS_URL``); this process's own when it does not answer."""

    def of(self, client: str) -> ClientLimits | None:
        """The limits set for a managed client through the admin API, else ``CLIENT_LIMITS``'s for its name or ``*``."""
        return self._clients.limits_of(client) or self._limits.get(client) or self._limits.get(EVERY_CLIENT)

    async def check(self, client: str, images: int, price: float | None) -> None:
        """ClientLimited when ``images`` more pictures (at ``price`` each) would pass one of the client's limits."""
        limits = self.of(client)
        if limits is None:
            return
        now = self._clock()
        shared = await self.shared.spent(client, now, lambda: self._seeded(client, now)) if self.shared else None
        spent = shared or await self._spent_by(client, now)
        while spent.minute and spent.minute[0] <= now - MINUTE:
            spent.minute.popleft()
        cost = (price or 0.0) * images
        day_end, month_end = _next_day(now), _next_month(now)
        if limits.images_per_minute is not None and len(spent.minute) + images > limits.images_per_minute:
            wait = spent.minute[0] + MINUTE - now if spent.minute else MINUTE
            self._refuse(client, "images_per_minute", f"{limits.images_per_minute} images per minute", wait)
        if limits.images_per_day is not None and spent.day_images + images > limits.images_per_day:
            self._refuse(client, "images_per_day", f"{limits.images_per_day} images per day", day_end - now)
        if limits.budget_per_day is not None and spent.day_cost + cost > limits.budget_per_day:
            self._refuse(client, "budget_per_day", f"a budget of {limits.budget_per_day:g} per day", day_end - now)
        if limits.budget_per_month is not None and spent.month_cost + cost > limits.budget_per_month:
            budget = f"a budget of {limits.budget_per_month:g} per month"
            self._refuse(client, "budget_per_month", budget, month_end - now)

    def count(self, client: str, records: Sequence[Record]) -> None:
        """Add what was just made (and recorded) to the client's counts."""
        if not records or self.of(client) is None:
            return
        now = self._clock()
        cost = sum(record.cost or 0.0 for record in records)
        if self.shared is not None:
            self.shared.count(client, now, len(records), cost)
        spent = self._spent.get(client)
        if spent is None:
            return
        self._roll(spent, now)
        spent.minute.extend([now] * len(records))
        spent.day_images += len(records)
        spent.day_cost += cost
        spent.month_cost += cost

    async def _spent_by(self, client: str, now: float) -> Spent:
        spent = self._spent.get(client)
        if spent is None:
            spent = self._spent[client] = await self._seeded(client, now)
        self._roll(spent, now)
        return spent

    async def _seeded(self, client: str, now: float) -> Spent:
        """Today's and this month's counts from the records (a restart keeps the day's budget spent)."""
        moment = datetime.fromtimestamp(now, UTC)
        day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        month_start = day_start.replace(day=1)
        [(_, day_images, day_cost)] = await usage(
            self._database, client=client, since=day_start, until=None, group_by=None
        ) or [("", 0, 0.0)]
        [(_, _, month_cost)] = await usage(
            self._database, client=client, since=month_start, until=None, group_by=None
        ) or [("", 0, 0.0)]
        return Spent(
            day=day_of(now), day_images=day_images, day_cost=day_cost, month=month_of(now), month_cost=month_cost
        )

    @staticmethod
    def _roll(spent: Spent, now: float) -> None:
        """A new day or month starts its counts at zero."""
        if spent.day != day_of(now):
            spent.day, spent.day_images, spent.day_cost = day_of(now), 0, 0.0
        if spent.month != month_of(now):
            spent.month, spent.month_cost = month_of(now), 0.0

    @staticmethod
    def _refuse(client: str, limit: str, what: str, wait: float) -> None:
        raise ClientLimited(
            f"client '{client}' reached its limit of {what}; it resets in {max(1, round(wait))} s",
            limit=limit,
            retry_after=wait,
        )


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def month_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m")


def _next_day(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (moment + timedelta(days=1)).timestamp()


def _next_month(now: float) -> float:
    first = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (
        first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)
    )
    return following.timestamp()
