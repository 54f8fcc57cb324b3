"""Tiny HTTP/1.1 servers on 127.0.0.1 written with asyncio streams, for answers no framework would send.

pytest-httpx stops requests before the connection pool, so whatever the pool
itself must survive (decompression bombs, slow hosts, full queues) is tested
against one of these.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names."""


Route = Callable[[RawRequest], Awaitable[bytes]]
"""A request -> the raw response bytes."""


def reply(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """``handler`` answering connections on a free loopback port; yields the base URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@contextmanager
def serving_in_thread(handler: Handler) -> Iterator[str]:
    """``handler`` on its own event loop in a thread: for callers whose loop blocks while the app runs.

    litestar's AsyncTestClient runs the app through a blocking portal, so a
    server on the test's own loop could not answer the app's calls.
    """
    loop = asyncio.new_event_loop()
    started: queue.Queue[asyncio.Server] = queue.Queue()

    def run() -> None:
        asyncio.set_event_loop(loop)
        started.put(loop.run_until_complete(asyncio.start_server(handler, "127.0.0.1", 0)))
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    server = started.get(timeout=5)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


class Counted:
    """A handler that counts the connections it is given."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await self.handler(reader, writer)


def answering(payload: bytes, *, keep_open: bool = True) -> Handler:
    """Every request on a connection gets ``payload`` (a whole raw response)."""

    async def route(request: RawRequest) -> bytes:
        return payload

    return routed(route, keep_open=keep_open)


def routed(route: Route, *, keep_open: bool = True) -> Handler:
    """Requests (their bodies read by Content-Length) answered by ``route``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.strip().split("\r\n")
                method, path = request_line.split(" ", 2)[:2]
                fields = [line.split(":", 1) for line in lines if ":" in line]
                headers = {name.strip().lower(): value.strip() for name, value in fields}
                await reader.readexactly(int(headers.get("content-length", "0")))
                writer.write(await route(RawRequest(method, path, headers)))
                await writer.drain()
                if not keep_open:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return handle
