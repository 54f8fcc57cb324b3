"""Requests start a bounded number per turn of the event loop (gateway/server.py ``Admission``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gateway.server import Admission


@dataclass
class Transport:
    closing: bool = False

    def is_closing(self) -> bool:
        return self.closing


@dataclass
class Connection:
    """What Admission asks of uvicorn's protocol: its loop, its transport, and starting a request now."""

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


async def test_a_burst_starts_a_few_dozen_per_turn_in_arrival_order() -> None:
    started: list[str] = []
    admission = Admission(per_turn=64)
    connection = Connection(asyncio.get_running_loop(), started)
    for number in range(150):
        admission.start(connection, request(f"/v1/images/generations#{number}"), app=None)
    assert started == []
    await asyncio.sleep(0)
    assert len(started) == 64
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert started == [f"/v1/images/generations#{number}" for number in range(150)]


async def test_health_checks_start_at_once_ahead_of_a_queue() -> None:
    started: list[str] = []
    admission = Admission(per_turn=1)
    connection = Connection(asyncio.get_running_loop(), started)
    admission.start(connection, request("/v1/chat/completions"), app=None)
    admission.start(connection, request("/v1/images/generations"), app=None)
    admission.start(connection, request("/health/ready"), app=None)
    assert started == ["/health/ready"]
    await asyncio.sleep(0)
    assert started == ["/health/ready", "/v1/chat/completions"]


async def test_a_request_whose_client_left_while_it_waited_is_not_started() -> None:
    started: list[str] = []
    admission = Admission(per_turn=8)
    loop = asyncio.get_running_loop()
    gone, staying = Connection(loop, started), Connection(loop, started)
    admission.start(gone, request("/v1/images/generations#gone"), app=None)
    admission.start(staying, request("/v1/images/generations#staying"), app=None)
    gone.transport.closing = True
    await asyncio.sleep(0)
    assert started == ["/v1/images/generations#staying"]
