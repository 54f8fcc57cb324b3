"""A request's pictures as records: who asked, through which endpoint and route, what was sent, what it cost.

Every picture-making handler asks ``Accounting.allow`` before any vendor is
called (the client's limits) and ``Accounting.record`` once the pictures are
stored and before the answer goes out (the journal writes the records in the
background; the limits count them).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from config import VendorGroup
from gateway.limits import Limits
from gateway.media import name_image, sniff
from gateway.pipeline import Produced
from gateway.records import Journal, Record
from gateway.records.journal import record_id
from gateway.render import image_link
from gateway.router import Router
from gateway.signing import SignedLink
from providers import Edit, TokenUsage


class Accounting:
    def __init__(self, journal: Journal, limits: Limits, router: Router, *, keep: bool = True) -> None:
        self._journal = journal
        self._keep = keep
        self._limits = limits
        self._router = router

    async def allow(self, client: str, model: str, pictures: int) -> None:
        """ClientLimited when ``pictures`` more of ``model`` would pass one of the client's limits."""
        await self._limits.check(client, pictures, highest_price(self._router, model))

    def record(
        self,
        produced: Produced,
        *,
        client: str,
        endpoint: str,
        model: str,
        idea: str,
        base_url: str,
        started: float,
        edit: Edit | None = None,
        journal: bool = True,
    ) -> list[Record]:
        """One record per picture of ``produced``, priced at the route that made it, counted against the client's
        limits and queued for the journal (``journal=False``: the caller writes them, as a batch does)."""
        groups = {route.name: route.group for route in self._router.routes_for(model)}
        now = datetime.now(UTC)
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        source = _input_name(edit)
        records = [
            Record(
                id=record_id(),
                client=client,
                endpoint=endpoint,
                model=model,
                route=route,
                idea=idea,
                prompt=produced.prompt,
                width=produced.width,
                height=produced.height,
                seed=seed,
                input_image=source,
                image_name="" if isinstance(picture, SignedLink) else picture.name,
                link=image_link(base_url, picture),
                cost=price(groups[route], model, usage),
                latency_ms=latency_ms,
                attempts=produced.attempts,
                created_at=now,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
            )
            for picture, seed, route, usage in zip(
                produced.images, produced.seeds, produced.image_routes, produced.image_usages, strict=True
            )
        ]
        if journal and self._keep:
            self._journal.write(records)
        self._limits.count(client, records)
        return records


def price(group: VendorGroup, model: str, usage: TokenUsage | None) -> float | None:
    """A picture's cost: by its tokens where the vendor reported them and the group prices tokens, else per image."""
    if usage is not None and group.token_prices is not None:
        per_input, per_output = group.token_prices
        return round((usage.input_tokens * per_input + usage.output_tokens * per_output) / 1_000_000, 8)
    return group.cost_of(model)


def highest_price(router: Router, model: str) -> float | None:
    """The most a picture of ``model`` can cost (its dearest route), for checking a budget before making it."""
    prices = [price for route in router.routes_for(model) if (price := route.group.cost_of(model)) is not None]
    return max(prices) if prices else None


def _input_name(edit: Edit | None) -> str | None:
    """The stored name of an edit's first input picture (inputs are stored content-addressed, like outputs)."""
    if edit is None:
        return None
    data = edit.images[0].data
    kind = sniff(data)
    return name_image(data, kind).name if kind is not None else None
