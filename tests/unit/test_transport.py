"""The pooled transport, through real servers on 127.0.0.1 (pytest-httpx mocks stop before the pool)."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import httpx
import pytest

from gateway.addresses import AddressGuard, AddressRefused
from gateway.transport import PIECE_BYTES, pooled_client
from providers.http import OriginBusy
from tests.support.raw_server import Counted, answering, reply, serving

TIMEOUT = httpx.Timeout(5.0)


def client(**options: object) -> httpx.AsyncClient:
    settings: dict[str, object] = {"max_active": 8, "max_waiting": 8, "timeout": TIMEOUT} | options
    return pooled_client(**settings)  # type: ignore[arg-type]


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    # says keep-alive, then closes: the client must notice before reusing the connection
    server = Counted(answering(reply(b"ok", "Connection: keep-alive"), keep_open=False))
    async with serving(server) as base, client() as http:
        for _ in range(3):
            assert (await http.get(f"{base}/")).text == "ok"
            await asyncio.sleep(0.05)
    assert server.connections == 3


async def test_keep_alive_connections_are_reused() -> None:
    server = Counted(answering(reply(b"ok")))
    async with serving(server) as base, client() as http:
        for _ in range(5):
            assert (await http.post(f"{base}/", json={"a": 1})).text == "ok"
    assert server.connections == 1


async def test_requests_past_the_limit_wait_and_past_the_queue_are_refused_at_once() -> None:
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.write(reply(b"done", "Connection: close"))
        await writer.drain()
        writer.close()

    async with serving(slow) as base, client(max_active=2, max_waiting=1) as http:
        in_flight = [asyncio.create_task(http.get(f"{base}/{i}")) for i in range(3)]  # two sent, one queued
        await asyncio.sleep(0.2)
        with pytest.raises(OriginBusy):
            await http.get(f"{base}/fourth")
        release.set()
        assert [response.text for response in await asyncio.gather(*in_flight)] == ["done"] * 3


async def test_a_queued_request_gives_up_after_the_pool_timeout() -> None:
    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    async with serving(never) as base, client(max_active=1, max_waiting=4) as http:
        stuck = asyncio.create_task(http.get(f"{base}/"))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"{base}/", timeout=httpx.Timeout(5.0, pool=0.2))
        stuck.cancel()


async def test_gzip_is_decoded() -> None:
    body = gzip.compress(b'{"ok": true}')
    async with serving(answering(reply(body, "Content-Encoding: gzip"))) as base, client() as http:
        response = await http.get(f"{base}/")
    assert response.json() == {"ok": True}
    assert "content-encoding" not in response.headers


async def test_raw_deflate_is_decoded() -> None:
    squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = squeezer.compress(b"hello") + squeezer.flush()
    async with serving(answering(reply(body, "Content-Encoding: deflate"))) as base, client() as http:
        assert (await http.get(f"{base}/")).text == "hello"


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param("gzip, gzip", id="stacked"),
        pytest.param("gzip, br", id="stacked-mixed"),
        pytest.param("br", id="br"),
    ],
)
async def test_stacked_and_unknown_encodings_are_refused(encoding: str) -> None:
    body = gzip.compress(gzip.compress(b"x" * 1000))
    async with serving(answering(reply(body, f"Content-Encoding: {encoding}"))) as base, client() as http:
        with pytest.raises(httpx.DecodingError):
            await http.get(f"{base}/")


async def test_a_decompression_bomb_inflates_only_as_far_as_the_reader_reads() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB in about 64 KiB
    received = 0
    async with (
        serving(answering(reply(bomb, "Content-Encoding: gzip"))) as base,
        client() as http,
        http.stream("GET", f"{base}/") as response,
    ):
        async for piece in response.aiter_bytes():
            assert len(piece) <= PIECE_BYTES
            received += len(piece)
            if received > 1024 * 1024:
                break
    assert received <= 1024 * 1024 + PIECE_BYTES


async def test_transport_failures_are_httpx_errors() -> None:
    async with serving(answering(b"")) as base:
        port = base.rsplit(":", 1)[1]
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with serving(silent) as base, client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{base}/", timeout=httpx.Timeout(5.0, read=0.2))

    async with serving(answering(b"this is not HTTP\r\n\r\n")) as base, client() as http:
        with pytest.raises(httpx.TransportError):
            await http.get(f"{base}/")


async def test_a_guarded_client_never_connects_to_a_forbidden_address() -> None:
    server = Counted(answering(reply(b"ok")))
    guard = AddressGuard(allow_private=False)
    async with serving(server) as base, client(guard=guard) as http:
        port = base.rsplit(":", 1)[1]
        for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433"):
            with pytest.raises(AddressRefused):
                await http.get(f"http://{host}:{port}/")
    assert server.connections == 0
    async with serving(server) as base, client(guard=AddressGuard(allow_private=True)) as http:
        assert (await http.get(base.replace("127.0.0.1", "localhost"))).text == "ok"
    assert server.connections == 1
