"""Work spread over turns of the event loop, a bounded number of calls per turn.

asyncio runs, in one turn, every callback that became ready before it. A
vendor that answers 2,000 requests at once makes 2,000 continuations ready
together: they ran back to back for 50-100 ms a turn for over a second, and
everything else (a /health poll, a new request's first byte) waited behind
them (``bench/concurrency.py inflight``). A ``TurnPacer`` lets ``per_turn``
calls through at once, queues the rest in arrival order and releases
``per_turn`` of them each following turn, so turns stay short. When little
is happening a call runs at once, as if there were no pacer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

PER_TURN = 64


class TurnPacer:
    """At most ``per_turn`` calls a turn of ``loop``: the first ones at once, the rest queued in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, per_turn: int = PER_TURN) -> None:
        self._loop = loop
        self._per_turn = per_turn
        self._budget = per_turn
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._refill_scheduled = False

    def call(self, callback: Callable[..., Any], *args: Any) -> None:
        self._schedule_refill()
        if self._budget > 0 and not self._queue:
            self._budget -= 1
            callback(*args)
        else:
            self._queue.append((callback, args))

    @property
    def queued(self) -> int:
        return len(self._queue)

    def _schedule_refill(self) -> None:
        if not self._refill_scheduled:
            self._refill_scheduled = True
            self._loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._refill_scheduled = False
        self._budget = self._per_turn
        try:
            while self._queue and self._budget > 0:
                self._budget -= 1
                callback, args = self._queue.popleft()
                callback(*args)
        finally:
            if self._queue or self._budget < self._per_turn:
                self._schedule_refill()


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnPacer] = weakref.WeakKeyDictionary()


def pacer_for(loop: asyncio.AbstractEventLoop) -> TurnPacer:
    """The loop's one pacer: everything paced on a loop shares its budget per turn."""
    pacer = _pacers.get(loop)
    if pacer is None:
        pacer = _pacers[loop] = TurnPacer(loop)
    return pacer
