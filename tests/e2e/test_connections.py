"""What one client connection may hold, seen from outside a real ``imagegate serve``: header deadlines, the
connection limit, full vendor queues, abandoned streams and SIGTERM under load."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import fake_vendor, gateway_server

pytestmark = pytest.mark.e2e


def vendor_env(vendor: str, **extra: str) -> dict[str, str]:
    return {
        "IMAGE_GEN_TYPE_1": "openai",
        "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
        "IMAGE_GEN_MODEL_1": "pic",
        "IMAGE_GEN_API_KEY_1": "good-key-000000000001",
        **extra,
    }


def log_events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection (within the socket's timeout) without answering."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[str]:
    env = {"HEADER_TIMEOUT_SECONDS": "1", "MAX_CONNECTIONS": "4", "LOG_FORMAT": "json"}
    with gateway_server(env, cwd=tmp_path) as server:
        yield server.url


def test_a_client_that_trickles_its_header_is_cut_off(guarded: str) -> None:
    with connect(guarded) as sock:
        sock.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n")
        assert closed_by_server(sock)
    with connect(guarded) as silent:
        assert closed_by_server(silent)
    assert httpx.get(f"{guarded}/health").status_code == 200


def test_connections_past_the_limit_get_a_503_in_openai_shape(guarded: str) -> None:
    held = [connect(guarded) for _ in range(4)]  # idle connections count: the next one is the fifth
    try:
        with httpx.Client() as client:
            response = client.get(f"{guarded}/health")
    finally:
        for sock in held:
            sock.close()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["connection"] == "close"
    assert response.json()["error"]["code"] == "too_many_connections"
    assert httpx.get(f"{guarded}/health").status_code == 200


def test_a_full_vendor_queue_is_a_503_with_retry_after(tmp_path: Path) -> None:
    async def two_at_once(base: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=20) as client:
            first = asyncio.create_task(client.post(f"{base}/v1/images/generations", json={"prompt": "a fox"}))
            await asyncio.sleep(0.5)
            second = await client.post(f"{base}/v1/images/generations", json={"prompt": "a cat"})
            return [await first, second]

    with fake_vendor(latency=2.0) as vendor:
        env = vendor_env(vendor, VENDOR_MAX_CONNECTIONS="1", VENDOR_MAX_QUEUED="0")
        with gateway_server(env, cwd=tmp_path) as server:
            first, second = asyncio.run(two_at_once(server.url))
    assert first.status_code == 200
    assert second.status_code == 503
    assert second.headers["retry-after"] == "1"
    assert second.json()["error"]["code"] == "vendor_queue_full"


def test_abandoned_streams_log_one_line_each_and_still_store_their_images(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"

    async def abandon(base: str, count: int) -> None:
        async with httpx.AsyncClient(timeout=10) as client:

            async def one(index: int) -> None:
                body = {"model": "pic", "stream": True, "messages": [{"role": "user", "content": f"a kite {index}"}]}
                async with client.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
                    async for _ in response.aiter_lines():
                        break  # hang up after the first chunk

            await asyncio.gather(*(one(index) for index in range(count)))

    with fake_vendor(latency=1.0) as vendor:
        env = vendor_env(vendor, LOG_FORMAT="json", MEDIA_STORE=f"file://{tmp_path}/media")
        with gateway_server(env, cwd=tmp_path, log_path=log) as server:
            asyncio.run(abandon(server.url, 20))
            for _ in range(100):
                if len(list((tmp_path / "media").rglob("*.png"))) == 1:  # the fake vendor's pictures are all alike
                    break
                asyncio.run(asyncio.sleep(0.1))
            stored_after = sum(1 for event in log_events(log) if event["event"] == "media.stored")
    events = log_events(log)
    text = log.read_text()
    assert stored_after == 20
    assert sum(1 for event in events if event["event"] == "stream.client_disconnected") == 20
    assert [event for event in events if event["level"] in ("error", "critical")] == []
    assert "Traceback" not in text and "Task was destroyed" not in text


def test_sigterm_under_load_answers_what_is_in_flight_and_exits(tmp_path: Path) -> None:
    async def load(base: str, process: subprocess.Popen[bytes]) -> list[int]:
        async with httpx.AsyncClient(timeout=20) as client:
            requests = [
                asyncio.create_task(client.post(f"{base}/v1/images/generations", json={"prompt": f"a fox {index}"}))
                for index in range(50)
            ]
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            return [(await request).status_code for request in requests]

    with fake_vendor(latency=1.0) as vendor, gateway_server(vendor_env(vendor), cwd=tmp_path) as server:
        statuses = asyncio.run(load(server.url, server.process))
        # uvicorn re-raises the signal once it has shut down cleanly, so the exit is "killed by SIGTERM"
        assert server.process.wait(timeout=15) == -signal.SIGTERM
    assert statuses == [200] * 50


def test_requests_still_running_when_the_grace_ends_get_a_503_not_a_traceback(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"

    async def cut_short(base: str, process: subprocess.Popen[bytes]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=20) as client:
            request = asyncio.create_task(client.post(f"{base}/v1/images/generations", json={"prompt": "a fox"}))
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            return await request

    with fake_vendor(latency=4.0) as vendor:
        env = vendor_env(vendor, SHUTDOWN_GRACE_SECONDS="1", LOG_FORMAT="json")
        with gateway_server(env, cwd=tmp_path, log_path=log) as server:
            response = asyncio.run(cut_short(server.url, server.process))
            server.process.wait(timeout=15)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "shutting_down"
    assert "Traceback" not in log.read_text()
