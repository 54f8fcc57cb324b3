"""Streamed chat completions, parsed chunk by chunk as a client would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png
from tests.support.markdown import image_links


def parse_sse(raw: str) -> tuple[list[dict[str, Any] | str], int]:
    """The data events (JSON, or the literal ``[DONE]``) and the count of comment lines."""
    events: list[dict[str, Any] | str] = []
    comments = 0
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        for line in block.splitlines():
            if line.startswith(":"):
                comments += 1
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
                events.append(data if data == "[DONE]" else json.loads(data))
    return events, comments


async def test_a_stream_has_role_content_finish_and_done() -> None:
    async with app_client(make_settings()) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "demo", "stream": True, "messages": [{"role": "user", "content": "a paper boat 16:9"}]},
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events, _ = parse_sse(response.text)
    assert events[-1] == "[DONE]"
    chunks = [e for e in events if isinstance(e, dict)]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    deltas = [c["choices"][0]["delta"] for c in chunks[1:-1]]
    [answer] = [delta["content"] for delta in deltas if delta.get("content")]
    assert image_links(answer)[0].startswith("http://testserver.local/image-proxy/")
    assert chunks[-1]["choices"][0] == {"delta": {}, "index": 0, "finish_reason": "stop"}


async def test_keepalive_comments_flow_while_a_slow_vendor_works(httpx_mock: HTTPXMock) -> None:
    async def slow_vendor(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.35)
        return httpx.Response(200, json={"data": [{"b64_json": b64(png())}]})

    httpx_mock.add_callback(slow_vendor, url="https://a.example/v1/images/generations")
    env = vendor_env(1, "openai", "https://a.example/v1", "pic") | {"STREAM_KEEPALIVE_SECONDS": "0.05"}
    async with app_client(make_settings(env)) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "pic", "stream": True, "messages": [{"role": "user", "content": "a cat"}]},
        )
    events, comments = parse_sse(response.text)
    assert comments >= 3
    assert events[-1] == "[DONE]"
    assert response.text.index(": keep-alive") < response.text.index('"content":"![')


async def test_a_failure_during_a_stream_is_an_error_event(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://a.example/v1/images/generations",
        status_code=400,
        json={"error": {"message": "size not supported"}},
    )
    async with app_client(make_settings(vendor_env(1, "openai", "https://a.example/v1", "pic"))) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "pic", "stream": True, "messages": [{"role": "user", "content": "a cat"}]},
        )
    assert response.status_code == 200
    events, _ = parse_sse(response.text)
    errors = [e for e in events if isinstance(e, dict) and "error" in e]
    assert errors == [
        {
            "error": {
                "message": "size not supported",
                "type": "invalid_request_error",
                "param": "prompt",
                "code": "vendor_rejected",
            }
        }
    ]
    assert events[-1] == "[DONE]"


async def test_bad_requests_fail_before_the_stream_starts() -> None:
    async with app_client(make_settings()) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "nope", "stream": True, "messages": [{"role": "user", "content": "a cat"}]},
        )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
