"""Prompt rewriting on the chat path, with the LLM and the image vendor mocked at the HTTP layer."""

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

LLM_URL = "https://llm.example/v1/chat/completions"
VENDOR_URL = "https://img.example/v1/images/generations"
LLM_KEYS = "sk-llm-dead-00000001,sk-llm-good-00000002"
REWRITTEN = "a red fox curled up in fresh snow, wildlife photograph, soft blue dusk light, quiet winter mood"


def env(**extra: str) -> dict[str, str]:
    return {
        **vendor_env(1, "openai", "https://img.example/v1", "pic=vendor-pic", "sk-img-000000000001"),
        "OPENAI_API_BASE": "https://llm.example/v1",
        "OPENAI_API_KEY": "sk-llm-good-00000002",
        "OPENAI_MODEL": "gpt-small",
        **extra,
    }


def llm_reply(content: str, **message: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message}}]}


def add_vendor(httpx_mock: HTTPXMock, **kwargs: Any) -> None:
    httpx_mock.add_response(url=VENDOR_URL, json={"data": [{"b64_json": b64(png())}]}, **kwargs)


def sent_prompts(httpx_mock: HTTPXMock) -> list[str]:
    return [json.loads(r.content)["prompt"] for r in httpx_mock.get_requests(url=VENDOR_URL)]


def llm_calls(httpx_mock: HTTPXMock) -> list[httpx.Request]:
    return httpx_mock.get_requests(url=LLM_URL)


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "pic", "messages": [{"role": "user", "content": content}], **extra}


async def test_the_vendor_gets_the_rewritten_prompt_and_the_answer_shows_it(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(f'"{REWRITTEN}"'))
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        reply = await client.post("/v1/chat/completions", json=chat("一只雪地里的狐狸 16:9"))
    assert reply.status_code == 200
    content = reply.json()["choices"][0]["message"]["content"]
    assert image_alts(content) == [REWRITTEN] and content.endswith(f"\n\n{REWRITTEN}")
    assert sent_prompts(httpx_mock) == [REWRITTEN]
    vendor_body = json.loads(httpx_mock.get_requests(url=VENDOR_URL)[0].content)
    assert vendor_body["size"] == "1024x576"  # read from the user's words, before rewriting
    llm_body = json.loads(llm_calls(httpx_mock)[0].content)
    assert llm_body["model"] == "gpt-small"
    assert llm_body["messages"][0]["role"] == "system"
    assert llm_body["messages"][-1] == {"role": "user", "content": "一只雪地里的狐狸"}


async def test_the_rewritten_prompt_never_changes_the_size(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply("a fox in snow, square 1:1 format, 512x512"))
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        await client.post("/v1/chat/completions", json=chat("a fox 9:16"))
    assert json.loads(httpx_mock.get_requests(url=VENDOR_URL)[0].content)["size"] == "576x1024"


async def test_a_rejected_llm_key_fails_over_to_the_next(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=LLM_URL, status_code=401, match_headers={"Authorization": "Bearer sk-llm-dead-00000001"}
    )
    httpx_mock.add_response(
        url=LLM_URL, json=llm_reply(REWRITTEN), match_headers={"Authorization": "Bearer sk-llm-good-00000002"}
    )
    add_vendor(httpx_mock)
    async with app_client(make_settings(env(OPENAI_API_KEY=LLM_KEYS))) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox"))
        readiness = (await client.get("/health/ready")).json()
    assert reply.status_code == 200
    assert [r.headers["authorization"] for r in llm_calls(httpx_mock)] == [
        "Bearer sk-llm-dead-00000001",
        "Bearer sk-llm-good-00000002",
    ]
    assert sent_prompts(httpx_mock) == [REWRITTEN]
    keys = {k["key"]: k["state"] for k in readiness["rewriting"]["keys"]}
    assert keys == {"…0001": "dead", "…0002": "healthy"}
    assert "sk-llm" not in json.dumps(readiness)


async def test_when_every_llm_attempt_fails_the_original_prompt_is_used(
    httpx_mock: HTTPXMock, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx_mock.add_response(url=LLM_URL, status_code=500, is_reusable=True)
    add_vendor(httpx_mock)
    async with app_client(make_settings(env(OPENAI_API_KEY=LLM_KEYS))) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox in the snow"))
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"].endswith("\n\na fox in the snow")
    assert sent_prompts(httpx_mock) == ["a fox in the snow"]
    assert len(llm_calls(httpx_mock)) >= 2
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e["event"].startswith("rewrite.")] == ["rewrite.failed"]


async def test_an_llm_slower_than_rewrite_timeout_is_abandoned(httpx_mock: HTTPXMock) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3)
        return httpx.Response(200, json=llm_reply(REWRITTEN))

    httpx_mock.add_callback(slow, url=LLM_URL)
    add_vendor(httpx_mock)
    async with app_client(make_settings(env(REWRITE_TIMEOUT="0.2"))) as client:
        started = asyncio.get_running_loop().time()
        reply = await client.post("/v1/chat/completions", json=chat("a fox"))
        elapsed = asyncio.get_running_loop().time() - started
    assert reply.status_code == 200
    assert sent_prompts(httpx_mock) == ["a fox"]
    assert elapsed < 2.5  # the request did not wait for the LLM


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(llm_reply("<think>A fox, unfinished thought"), id="unclosed-think"),
        pytest.param(llm_reply(""), id="empty"),
        pytest.param({"choices": []}, id="no-choices"),
    ],
)
async def test_an_unusable_answer_falls_back_to_the_original_prompt(
    httpx_mock: HTTPXMock, reply: dict[str, Any]
) -> None:
    httpx_mock.add_response(url=LLM_URL, json=reply, is_reusable=True)
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        answer = await client.post("/v1/chat/completions", json=chat("a fox"))
    assert answer.status_code == 200
    assert sent_prompts(httpx_mock) == ["a fox"]


async def test_identical_ideas_are_rewritten_once(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(REWRITTEN))
    add_vendor(httpx_mock, is_reusable=True)
    async with app_client(make_settings(env())) as client:
        first = await client.post("/v1/chat/completions", json=chat("a fox"))
        again = await client.post("/v1/chat/completions", json=chat("a fox"))
    assert first.status_code == again.status_code == 200
    assert len(llm_calls(httpx_mock)) == 1
    assert sent_prompts(httpx_mock) == [REWRITTEN, REWRITTEN]


async def test_concurrent_identical_ideas_share_one_llm_call(httpx_mock: HTTPXMock) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json=llm_reply(REWRITTEN))

    httpx_mock.add_callback(slow, url=LLM_URL)
    add_vendor(httpx_mock, is_reusable=True)
    async with app_client(make_settings(env())) as client:
        replies = await asyncio.gather(*(client.post("/v1/chat/completions", json=chat("a fox")) for _ in range(4)))
    assert [r.status_code for r in replies] == [200] * 4
    assert len(llm_calls(httpx_mock)) == 1
    assert sent_prompts(httpx_mock) == [REWRITTEN] * 4


async def test_a_different_idea_is_not_served_from_the_cache(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(REWRITTEN))
    httpx_mock.add_response(url=LLM_URL, json=llm_reply("a grey wolf howling at the moon, ink drawing"))
    add_vendor(httpx_mock, is_reusable=True)
    async with app_client(make_settings(env())) as client:
        await client.post("/v1/chat/completions", json=chat("a fox"))
        await client.post("/v1/chat/completions", json=chat("a wolf"))
    assert sent_prompts(httpx_mock) == [REWRITTEN, "a grey wolf howling at the moon, ink drawing"]


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        pytest.param(chat("一只雪地里的狐狸", rewrite=False), {}, "一只雪地里的狐狸", id="body-field"),
        pytest.param(chat("一只雪地里的狐狸"), {"X-Imagegate-Rewrite": "off"}, "一只雪地里的狐狸", id="header"),
        pytest.param(chat("raw: 一只雪地里的狐狸 16:9"), {}, "一只雪地里的狐狸", id="raw-prefix"),
    ],
)
async def test_rewriting_can_be_turned_off_per_request(
    httpx_mock: HTTPXMock, body: dict[str, Any], headers: dict[str, str], expected: str
) -> None:
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        reply = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert reply.status_code == 200
    assert llm_calls(httpx_mock) == []
    assert sent_prompts(httpx_mock) == [expected]  # a non-English idea goes to the vendor as written
    assert reply.json()["choices"][0]["message"]["content"].endswith(f"\n\n{expected}")


async def test_show_revised_prompt_off_leaves_only_the_image(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(REWRITTEN))
    add_vendor(httpx_mock)
    async with app_client(make_settings(env(SHOW_REVISED_PROMPT="false"))) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox"))
    content = reply.json()["choices"][0]["message"]["content"]
    assert content.startswith("![") and content.endswith('")')
    assert image_alts(content) == [REWRITTEN]  # the prompt stays in the alt text, for a follow-up to read
    assert f"\n\n{REWRITTEN}" not in content


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"content": f"<think>Fox, snow, dusk.</think>\n{REWRITTEN}"}, id="inline-think"),
        pytest.param({"content": REWRITTEN, "reasoning_content": "Fox, snow, dusk."}, id="reasoning_content"),
        pytest.param({"content": REWRITTEN, "reasoning": "Fox, snow, dusk."}, id="reasoning"),
    ],
)
async def test_reasoning_mode_returns_the_thinking_beside_the_answer(
    httpx_mock: HTTPXMock, message: dict[str, str]
) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(**message))
    add_vendor(httpx_mock)
    settings = make_settings(env(OPENAI_MODEL="", OPENAI_MODEL_REASONING="deep-thinker"))
    async with app_client(settings) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox"))
    answer = reply.json()["choices"][0]["message"]
    assert answer["reasoning_content"] == "Fox, snow, dusk."
    assert answer["content"].endswith(f"\n\n{REWRITTEN}")
    assert sent_prompts(httpx_mock) == [REWRITTEN]
    llm_body = json.loads(llm_calls(httpx_mock)[0].content)
    assert llm_body["model"] == "deep-thinker"
    assert "<think>" in llm_body["messages"][0]["content"]  # the reasoning system prompt


async def test_without_openai_settings_nothing_is_rewritten(httpx_mock: HTTPXMock) -> None:
    add_vendor(httpx_mock)
    plain = vendor_env(1, "openai", "https://img.example/v1", "pic=vendor-pic", "sk-img-000000000001")
    async with app_client(make_settings(plain)) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox"))
        readiness = (await client.get("/health/ready")).json()
    assert reply.status_code == 200
    assert sent_prompts(httpx_mock) == ["a fox"]
    assert "rewriting" not in readiness


def sse_lines(*deltas: dict[str, str]) -> list[bytes]:
    chunks = [{"choices": [{"index": 0, "delta": delta}]} for delta in deltas]
    return [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]


def gateway_deltas(body: str) -> list[dict[str, Any]]:
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]
    return [json.loads(event)["choices"][0]["delta"] for event in events]


REASONING_ENV = {"OPENAI_MODEL": "", "OPENAI_MODEL_REASONING": "deep-thinker"}


@pytest.mark.parametrize(
    "llm_deltas",
    [
        pytest.param(
            [{"reasoning_content": "Fox, "}, {"reasoning_content": "snow, dusk."}, {"content": REWRITTEN}],
            id="reasoning_content-field",
        ),
        pytest.param(
            [{"content": "<think>Fox, "}, {"content": "snow, dusk.</th"}, {"content": f"ink>\n{REWRITTEN}"}],
            id="inline-think-tags",
        ),
    ],
)
async def test_a_streamed_reasoning_request_streams_the_thinking_before_the_image(
    httpx_mock: HTTPXMock, llm_deltas: list[dict[str, str]]
) -> None:
    from pytest_httpx import IteratorStream

    httpx_mock.add_response(url=LLM_URL, stream=IteratorStream(sse_lines(*llm_deltas)))
    add_vendor(httpx_mock)
    async with app_client(make_settings(env(**REASONING_ENV))) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox", stream=True))
    deltas = gateway_deltas(reply.text)
    thinking = [d["reasoning_content"] for d in deltas if "reasoning_content" in d]
    contents = [d["content"] for d in deltas if d.get("content")]
    assert "".join(thinking) == f"Making 1 picture with pic at 1024x1024.\nFox, snow, dusk.\nPrompt: {REWRITTEN}\n"
    assert len(contents) == 1 and image_alts(contents[0]) == [REWRITTEN] and contents[0].endswith(REWRITTEN)
    last_thought = max(i for i, d in enumerate(deltas) if "reasoning_content" in d)
    assert last_thought < next(i for i, d in enumerate(deltas) if d.get("content"))
    assert json.loads(llm_calls(httpx_mock)[0].content)["stream"] is True
    assert sent_prompts(httpx_mock) == [REWRITTEN]


async def test_a_cached_reasoning_rewrite_still_shows_its_thinking_when_streamed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(REWRITTEN, reasoning_content="Fox, snow, dusk."))
    add_vendor(httpx_mock, is_reusable=True)
    async with app_client(make_settings(env(**REASONING_ENV))) as client:
        await client.post("/v1/chat/completions", json=chat("a fox"))
        streamed = await client.post("/v1/chat/completions", json=chat("a fox", stream=True))
    deltas = gateway_deltas(streamed.text)
    assert [d["reasoning_content"] for d in deltas if "reasoning_content" in d] == [
        "Making 1 picture with pic at 1024x1024.\n",
        "Fox, snow, dusk.",
        f"\nPrompt: {REWRITTEN}\n",
    ]
    assert len(llm_calls(httpx_mock)) == 1


async def test_a_streamed_llm_failure_falls_back_without_an_error_event(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, status_code=503, is_reusable=True)
    add_vendor(httpx_mock)
    async with app_client(make_settings(env(**REASONING_ENV))) as client:
        reply = await client.post("/v1/chat/completions", json=chat("a fox", stream=True))
    assert '"error"' not in reply.text
    contents = [d["content"] for d in gateway_deltas(reply.text) if d.get("content")]
    assert contents[0].endswith("\n\na fox")


# A follow-up changes the previous picture: the LLM gets its prompt and the request.

FOX_ANSWER = (
    f'![{REWRITTEN}](http://testserver.local/image-proxy/0123456789abcdef0123456789abcdef.png "1024x576, seed 7")'
    f"\n\n{REWRITTEN}"
)
WATERCOLOR = "a red fox curled up in fresh snow, loose watercolor painting, soft washes, blue dusk light, quiet mood"


def follow_up(text: str) -> dict[str, Any]:
    messages = [
        {"role": "user", "content": "a fox in the snow 16:9"},
        {"role": "assistant", "content": FOX_ANSWER},
        {"role": "user", "content": text},
    ]
    return {"model": "pic", "messages": messages}


async def test_a_refinement_sends_the_llm_the_previous_prompt_and_the_request(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, json=llm_reply(WATERCOLOR))
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        reply = await client.post("/v1/chat/completions", json=follow_up("make it a watercolor painting"))
    assert reply.status_code == 200
    [call] = llm_calls(httpx_mock)
    messages = json.loads(call.content)["messages"]
    assert messages[0]["role"] == "system" and "change the prompt of a picture" in messages[0]["content"]
    assert messages[-1] == {
        "role": "user",
        "content": f"Previous prompt: {REWRITTEN}\nRequest: make it a watercolor painting",
    }
    assert sent_prompts(httpx_mock) == [WATERCOLOR]
    vendor_body = json.loads(httpx_mock.get_requests(url=VENDOR_URL)[0].content)
    assert vendor_body["size"] == "1024x576"  # carried over from the previous picture


async def test_a_failing_llm_falls_back_to_merging_the_change_into_the_previous_prompt(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, status_code=503, is_reusable=True)
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        reply = await client.post("/v1/chat/completions", json=follow_up("now make it at night"))
    assert reply.status_code == 200
    assert llm_calls(httpx_mock)  # it was asked, and failed
    assert sent_prompts(httpx_mock) == [
        "a red fox curled up in fresh snow, wildlife photograph, quiet winter mood, at night"  # "dusk" gave way
    ]


async def test_again_reuses_the_previous_prompt_without_asking_the_llm(httpx_mock: HTTPXMock) -> None:
    add_vendor(httpx_mock)
    async with app_client(make_settings(env())) as client:
        reply = await client.post("/v1/chat/completions", json=follow_up("again"))
    assert reply.status_code == 200
    assert llm_calls(httpx_mock) == []
    assert sent_prompts(httpx_mock) == [REWRITTEN]
