"""Replicas sharing Redis ask the rewriting LLM once for an idea, and reuse each other's rewrites."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png
from tests.support.markdown import image_alts
from tests.support.redis import RedisServer

LLM_URL = "https://llm.example/v1/chat/completions"
VENDOR_URL = "https://img.example/v1/images/generations"
REWRITTEN = "a red fox curled up in fresh snow, wildlife photograph, soft blue dusk light, quiet winter mood"
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)


def settings(redis: RedisServer) -> Any:
    env = vendor_env(1, "openai", "https://img.example/v1", "pic=vendor-pic", "sk-img-000000000001") | {
        "OPENAI_API_BASE": "https://llm.example/v1",
        "OPENAI_API_KEY": "sk-llm-good-00000002",
        "OPENAI_MODEL": "gpt-small",
        "REDIS_URL": redis.url,
    }
    return make_settings(env)


def chat(content: str) -> dict[str, Any]:
    return {"model": "pic", "messages": [{"role": "user", "content": content}]}


@pytest.fixture(autouse=True)
def vendors(httpx_mock: HTTPXMock) -> None:
    async def slow_llm(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": REWRITTEN}}]}
        return httpx.Response(200, json=reply)

    httpx_mock.add_callback(slow_llm, url=LLM_URL, is_reusable=True)
    httpx_mock.add_response(url=VENDOR_URL, json={"data": [{"b64_json": b64(png())}]}, is_reusable=True)


async def test_two_replicas_meeting_one_idea_at_once_ask_the_llm_once(
    httpx_mock: HTTPXMock, redis: RedisServer
) -> None:
    async with app_client(settings(redis)) as first, app_client(settings(redis)) as second:
        replies = await asyncio.gather(
            first.post("/v1/chat/completions", json=chat("a fox in the snow")),
            second.post("/v1/chat/completions", json=chat("a fox in the snow")),
        )
    assert [reply.status_code for reply in replies] == [200, 200]
    assert len(httpx_mock.get_requests(url=LLM_URL)) == 1
    for reply in replies:
        assert image_alts(reply.json()["choices"][0]["message"]["content"]) == [REWRITTEN]
    sent = [json.loads(request.content)["prompt"] for request in httpx_mock.get_requests(url=VENDOR_URL)]
    assert sent == [REWRITTEN, REWRITTEN]


async def test_a_rewrite_made_by_one_replica_is_a_cache_hit_at_another(
    httpx_mock: HTTPXMock, redis: RedisServer
) -> None:
    async with app_client(settings(redis)) as first:
        await first.post("/v1/chat/completions", json=chat("an owl at dusk"))
    async with app_client(settings(redis)) as later:  # a fresh process: its own cache is empty
        reply = await later.post("/v1/chat/completions", json=chat("an owl at dusk"))
    assert reply.status_code == 200
    assert len(httpx_mock.get_requests(url=LLM_URL)) == 1
    assert image_alts(reply.json()["choices"][0]["message"]["content"]) == [REWRITTEN]
