"""The lean transport still notices connections the server has closed, and never reuses them."""

from __future__ import annotations

import asyncio
import socket

import httpx

from gateway.transport import BackendTransport, LeanBackend, socket_readable

REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    connections = 0

    async def answer_once_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(REPLY)
        await writer.drain()
        writer.close()  # says keep-alive, then closes: the client must notice before reusing it

    server = await asyncio.start_server(answer_once_then_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    async with server, httpx.AsyncClient(transport=BackendTransport(LeanBackend(), limits)) as client:
        for _ in range(3):
            response = await client.get(f"http://127.0.0.1:{port}/")
            assert response.text == "ok"
            await asyncio.sleep(0.05)  # let the server's close arrive
    assert connections == 3


def test_socket_readable_tells_idle_from_closed() -> None:
    left, right = socket.socketpair()
    with left, right:
        assert not socket_readable(left)
        right.close()
        assert socket_readable(left)
    assert socket_readable(None)
