"""HTTP/1.1 on the wire (gateway/connections.py), through the gateway's pooled client and real loopback servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.connections import HEADER_LIMIT, PAUSE_READING_AT
from gateway.pacing import PER_TURN, pacer_for
from gateway.transport import pooled_client
from tests.support.raw_server import Counted, RawRequest, answering, reply, routed, serving, serving_in_thread

TIMEOUT = httpx.Timeout(5.0)


def client() -> httpx.AsyncClient:
    return pooled_client(max_active=8, max_waiting=8, timeout=TIMEOUT)


async def test_a_chunked_response_is_joined_and_the_connection_reused() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    server = Counted(answering(chunked))
    async with serving(server) as base, client() as http:
        for _ in range(3):
            assert (await http.get(f"{base}/")).text == "hello world"
    assert server.connections == 1


async def test_a_body_without_a_length_ends_with_the_connection() -> None:
    async with serving(answering(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", keep_open=False)) as base, client() as http:
        response = await http.get(f"{base}/")
    assert response.text == "until the end"


async def test_a_connection_closed_mid_body_is_a_read_error() -> None:
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"
    async with serving(answering(truncated, keep_open=False)) as base, client() as http:
        with pytest.raises(httpx.ReadError):
            await http.get(f"{base}/")


async def test_oversized_response_headers_are_a_protocol_error() -> None:
    huge = reply(b"ok", "X-Filler: " + "a" * HEADER_LIMIT)
    async with serving(answering(huge)) as base, client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="headers are larger"):
            await http.get(f"{base}/")


async def test_interim_responses_are_skipped() -> None:
    async with serving(answering(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(b"final"))) as base, client() as http:
        response = await http.post(f"{base}/", content=b"x")
    assert (response.status_code, response.text) == (200, "final")


async def test_status_reason_and_headers_come_through() -> None:
    answer = reply(b"{}", "Retry-After: 7", "X-Two: a", "X-Two: b", status="429 Slow Down")
    async with serving(answering(answer)) as base, client() as http:
        response = await http.get(f"{base}/")
    assert response.status_code == 429
    assert response.reason_phrase == "Slow Down"
    assert response.headers["retry-after"] == "7"
    assert response.headers.get_list("x-two") == ["a", "b"]


async def test_a_streamed_request_body_is_sent_chunked_and_arrives_whole() -> None:
    received: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        body = b""
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
        received.append(body)
        writer.write(reply(b"thanks"))
        await writer.drain()
        writer.close()

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"first ", b"second ", b"third"):
            yield part

    async with serving(echo) as base, client() as http:
        response = await http.post(f"{base}/", content=parts())
    assert response.text == "thanks"
    assert received == [b"first second third"]


async def test_a_large_body_is_read_whole_while_the_socket_pauses_and_resumes() -> None:
    size = 8 * PAUSE_READING_AT
    body = bytes(range(256)) * (size // 256)
    async with serving(answering(reply(body))) as base, client() as http, http.stream("GET", f"{base}/") as response:
        pieces = []
        async for piece in response.aiter_bytes():
            pieces.append(piece)
            await asyncio.sleep(0)  # a slow reader: the server's bytes pile up until reading pauses
    assert b"".join(pieces) == body


async def test_headers_with_line_breaks_are_refused_before_sending() -> None:
    server = Counted(answering(reply(b"ok")))
    async with serving(server) as base, client() as http:
        with pytest.raises(httpx.LocalProtocolError):
            await http.get(f"{base}/", headers={"X-Injected": "a\r\nX-Evil: 1"})


async def test_request_line_and_headers_reach_the_server_as_sent() -> None:
    seen: list[RawRequest] = []

    async def record(request: RawRequest) -> bytes:
        seen.append(request)
        return reply(b"ok")

    async with serving(routed(record)) as base, client() as http:
        await http.post(f"{base}/v1/images?x=a%20b", json={"prompt": "a fox"}, headers={"Authorization": "Bearer k"})
    (request,) = seen
    assert (request.method, request.path) == ("POST", "/v1/images?x=a%20b")
    assert request.headers["authorization"] == "Bearer k"
    assert request.headers["host"] == base.removeprefix("http://")
    assert request.headers["content-length"] == str(len(b'{"prompt":"a fox"}'))


async def test_the_client_sends_no_cookies_back_and_follows_no_redirects() -> None:
    seen: list[RawRequest] = []

    async def set_cookie(request: RawRequest) -> bytes:
        seen.append(request)
        return reply(b"ok", "Set-Cookie: session=abc; Path=/")

    async with serving(routed(set_cookie)) as base, client() as http:
        await http.get(f"{base}/")
        await http.get(f"{base}/")
        with pytest.raises(ValueError, match="no redirects"):
            await http.get(f"{base}/", follow_redirects=True)
    assert [request.headers.get("cookie") for request in seen] == [None, None]


async def test_an_answer_that_came_in_time_is_read_though_the_busy_loop_wakes_its_reader_late() -> None:
    """Wake-ups wait their turn in the loop's pacer; the read timeout must not fire on an answer already there."""
    loop = asyncio.get_running_loop()
    pacer = pacer_for(loop)
    busy = True

    def work() -> None:  # 2 ms of other requests' work that comes back for more: a loop with a backlog
        time.sleep(0.002)
        if busy:
            pacer.call(work)

    with serving_in_thread(answering(reply(b"in time"))) as base:
        async with pooled_client(max_active=8, max_waiting=8, timeout=httpx.Timeout(5.0, read=0.2)) as http:
            for _ in range(PER_TURN * 4):  # about 0.4 s of backlog ahead of any wake-up, twice the read timeout
                pacer.call(work)
            try:
                response = await http.get(f"{base}/")
            finally:
                busy = False
    assert response.text == "in time"
