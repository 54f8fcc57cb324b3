"""Work spread over turns of the event loop (gateway/pacing.py); requests start through it (gateway/server.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gateway.pacing import PER_TURN, TurnPacer, pacer_for
from gateway.server import admit


@dataclass
class Transport:
    closing: bool = False

    def is_closing(self) -> bool:
        return self.closing


@dataclass
class Connection:
    """What ``admit`` asks of uvicorn's protocol: its loop, its transport, and starting a request now."""

    loop: asyncio.AbstractEventLoop
    started: list[str]
    transport: Transport = field(default_factory=Transport)

    def start_now(self, cycle: Any, app: Any) -> None:
        self.started.append(cycle.scope["path"])


@dataclass
class Cycle:
    scope: dict[str, str]


def request(path: str) -> Cycle:
    return Cycle({"path": path})


async def test_calls_run_at_once_until_the_turns_budget_is_spent_then_a_few_dozen_per_turn_in_order() -> None:
    done: list[int] = []
    pacer = TurnPacer(asyncio.get_running_loop(), per_turn=10)
    for number in range(25):
        pacer.call(done.append, number)
    assert done == list(range(10))
    await asyncio.sleep(0)
    assert done == list(range(20))
    await asyncio.sleep(0)
    assert done == list(range(25))
    assert pacer.queued == 0


async def test_once_the_queue_drains_calls_run_at_once_again() -> None:
    done: list[str] = []
    pacer = TurnPacer(asyncio.get_running_loop(), per_turn=2)
    for name in "abc":
        pacer.call(done.append, name)
    for _ in range(3):
        await asyncio.sleep(0)
    pacer.call(done.append, "d")
    assert done == ["a", "b", "c", "d"]


async def test_a_failing_call_does_not_strand_the_ones_queued_behind_it() -> None:
    done: list[int] = []
    loop = asyncio.get_running_loop()
    errors: list[str] = []
    loop.set_exception_handler(lambda _, context: errors.append(str(context.get("exception"))))
    pacer = TurnPacer(loop, per_turn=1)

    def fail() -> None:
        raise RuntimeError("boom")

    pacer.call(done.append, 1)
    pacer.call(fail)
    pacer.call(done.append, 2)
    for _ in range(4):
        await asyncio.sleep(0)
    assert (done, errors) == ([1, 2], ["boom"])


async def test_each_loop_has_its_own_pacer() -> None:
    loop = asyncio.get_running_loop()
    assert pacer_for(loop) is pacer_for(loop)
    other = asyncio.new_event_loop()
    try:
        assert pacer_for(other) is not pacer_for(loop)
    finally:
        other.close()


async def test_a_burst_of_requests_starts_a_few_dozen_per_turn_in_arrival_order() -> None:
    started: list[str] = []
    connection = Connection(asyncio.get_running_loop(), started)
    await asyncio.sleep(0)  # a fresh turn: the loop's whole budget
    for number in range(PER_TURN * 2 + 20):
        admit(connection, request(f"/v1/images/generations#{number}"), app=None)
    assert len(started) == PER_TURN
    await asyncio.sleep(0)
    assert len(started) == PER_TURN * 2
    await asyncio.sleep(0)
    assert started == [f"/v1/images/generations#{number}" for number in range(PER_TURN * 2 + 20)]


async def test_health_checks_start_at_once_ahead_of_a_queue() -> None:
    started: list[str] = []
    connection = Connection(asyncio.get_running_loop(), started)
    await asyncio.sleep(0)
    for _ in range(PER_TURN):
        admit(connection, request("/v1/images/generations"), app=None)
    admit(connection, request("/v1/chat/completions"), app=None)
    admit(connection, request("/health/ready"), app=None)
    assert started[-1] == "/health/ready"
    await asyncio.sleep(0)
    assert started[-1] == "/v1/chat/completions"


async def test_a_request_whose_client_left_while_it_waited_is_not_started() -> None:
    started: list[str] = []
    loop = asyncio.get_running_loop()
    gone, staying = Connection(loop, started), Connection(loop, started)
    await asyncio.sleep(0)
    for _ in range(PER_TURN):
        admit(staying, request("/v1/images/generations#first"), app=None)
    admit(gone, request("/v1/images/generations#gone"), app=None)
    admit(staying, request("/v1/images/generations#staying"), app=None)
    gone.transport.closing = True
    await asyncio.sleep(0)
    assert started[PER_TURN:] == ["/v1/images/generations#staying"]
