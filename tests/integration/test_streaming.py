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


# Progress while a picture is made, and the fields clients read.


def deltas_of(raw: str) -> list[dict[str, Any]]:
    events, _ = parse_sse(raw)
    return [c["choices"][0]["delta"] for c in events if isinstance(c, dict) and c.get("choices")]


async def test_progress_arrives_as_thinking_before_the_picture_and_names_a_failover(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://a.example/v1/images/generations", status_code=503)
    httpx_mock.add_response(url="https://b.example/v1/images/generations", json={"data": [{"b64_json": b64(png())}]})
    env = vendor_env(1, "openai", "https://a.example/v1", "pic=a-pic") | vendor_env(
        2, "openai", "https://b.example/v1", "pic=b-pic", "key-two-000000000001"
    )
    async with app_client(make_settings(env)) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "pic", "stream": True, "messages": [{"role": "user", "content": "a cat 16:9"}]},
        )
    deltas = deltas_of(response.text)
    thinking = [d["reasoning_content"] for d in deltas if "reasoning_content" in d]
    first_content = next(i for i, d in enumerate(deltas) if d.get("content"))
    assert all(i < first_content for i, d in enumerate(deltas) if "reasoning_content" in d)
    assert thinking[0] == "Making 1 picture with pic at 1024x576.\n"
    assert thinking[1] == "Prompt: a cat\n"
    assert thinking[2].startswith("group1:a-pic failed (") and thinking[2].endswith("; trying the next vendor.\n")
    assert image_links(deltas[first_content]["content"])


async def test_progress_can_go_into_the_answer_or_nowhere() -> None:
    body = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": "a kite"}]}
    for mode, expected in [("content", "Making 1 picture with demo at 1024x1024.\n\n"), ("off", None)]:
        async with app_client(make_settings({"CHAT_PROGRESS": mode})) as client:
            deltas = deltas_of((await client.post("/v1/chat/completions", json=body)).text)
        assert all("reasoning_content" not in d for d in deltas)
        contents = [d["content"] for d in deltas if d.get("content")]
        if expected is None:
            assert len(contents) == 1 and image_links(contents[0])
        else:
            assert contents[0] == expected and contents[1] == "Prompt: a kite\n\n" and image_links(contents[2])


async def test_include_usage_adds_a_last_chunk_with_usage_and_no_choices() -> None:
    body = {
        "model": "demo",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "a kite over a beach"}],
    }
    async with app_client(make_settings()) as client:
        events, _ = parse_sse((await client.post("/v1/chat/completions", json=body)).text)
        plain, _ = parse_sse((await client.post("/v1/chat/completions", json={**body, "stream_options": None})).text)
    *chunks, last_chunk, done = events
    assert done == "[DONE]"
    assert isinstance(last_chunk, dict) and last_chunk["choices"] == []
    assert last_chunk["usage"]["prompt_tokens"] > 0 and last_chunk["usage"]["completion_tokens"] > 0
    assert all("usage" not in c for c in chunks if isinstance(c, dict))
    assert all("usage" not in c for c in plain if isinstance(c, dict))


async def test_the_images_field_carries_the_links_when_turned_on() -> None:
    body = {"model": "demo", "messages": [{"role": "user", "content": "a kite"}]}
    async with app_client(make_settings({"CHAT_IMAGES_FIELD": "true"})) as client:
        plain = (await client.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]
        streamed = deltas_of((await client.post("/v1/chat/completions", json={**body, "stream": True})).text)
    assert plain["images"] == [{"image_url": {"url": image_links(plain["content"])[0]}, "type": "image_url"}]
    [content] = [d["content"] for d in streamed if d.get("content")]
    [images] = [d["images"] for d in streamed if d.get("images")]  # in a chunk of their own, after the content
    assert [d.keys() for d in streamed if d.get("images")] == [{"images"}]
    assert images[0]["image_url"]["url"] == image_links(content)[0]
    async with app_client(make_settings()) as client:
        default = (await client.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]
    assert "images" not in default
