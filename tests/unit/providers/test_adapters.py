"""Each adapter's request and reply mapping, against the vendor's HTTP surface."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image
from pytest_httpx import HTTPXMock

from providers import PROVIDERS, ImageJob, ImageResult, MalformedReply, VendorUnavailable

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()


async def generate(kind: str, job: ImageJob, base_url: str, key: str = "sk-key") -> list[ImageResult]:
    async with httpx.AsyncClient() as client:
        return await PROVIDERS[kind].generate(job, base_url=base_url, key=key, client=client)


def sent_json(httpx_mock: HTTPXMock) -> dict[str, object]:
    body: dict[str, object] = json.loads(httpx_mock.get_request().content)
    return body


JOB = ImageJob(prompt="a red fox", width=1024, height=576, model="vendor-model")


async def test_openai_posts_to_images_generations_and_reads_urls_and_b64(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://o.example/v1/images/generations",
        json={"data": [{"url": "https://cdn.example/1.png"}, {"b64_json": PNG_B64}]},
    )
    results = await generate("openai", JOB, "https://o.example/v1")
    assert results == [ImageResult(url="https://cdn.example/1.png"), ImageResult(data=PNG)]
    assert sent_json(httpx_mock) == {"model": "vendor-model", "prompt": "a red fox", "n": 1, "size": "1024x576"}


async def test_openai_passes_extras_when_given(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"data": [{"b64_json": PNG_B64}]})
    job = ImageJob(prompt="p", width=512, height=512, model="m", seed=7, steps=20)
    await generate("openai", job, "https://o.example/v1")
    assert sent_json(httpx_mock) == {"model": "m", "prompt": "p", "n": 1, "size": "512x512", "seed": 7, "steps": 20}


async def test_openai_reply_without_images_is_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"data": []})
    with pytest.raises(MalformedReply):
        await generate("openai", JOB, "https://o.example/v1")


async def test_siliconflow_sends_image_size_and_reads_temporary_urls(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://sf.example/v1/images/generations",
        json={"images": [{"url": "https://sf-cdn.example/tmp/abc.png"}], "timings": {"inference": 1.2}},
    )
    results = await generate("siliconflow", JOB, "https://sf.example/v1/images/generations")
    assert results == [ImageResult(url="https://sf-cdn.example/tmp/abc.png")]
    body = sent_json(httpx_mock)
    assert body["image_size"] == "1024x576"
    assert body["model"] == "vendor-model" and body["prompt"] == "a red fox"


async def test_siliconflow_reply_that_is_not_json_is_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="<html>gateway error</html>")
    with pytest.raises(MalformedReply):
        await generate("siliconflow", JOB, "https://sf.example/v1/images/generations")


CF = "https://api.cloudflare.example/client/v4/accounts/acc/ai/run"


async def test_cloudflare_flux_schnell_sends_only_prompt_and_capped_steps(httpx_mock: HTTPXMock) -> None:
    model = "@cf/black-forest-labs/flux-1-schnell"
    httpx_mock.add_response(url=f"{CF}/{model}", json={"success": True, "result": {"image": PNG_B64}})
    job = ImageJob(prompt="a fox", width=1024, height=576, model=model, steps=30, seed=3)
    assert await generate("cloudflare", job, CF) == [ImageResult(data=PNG)]
    assert sent_json(httpx_mock) == {"prompt": "a fox", "steps": 8}


async def test_cloudflare_sdxl_sends_clamped_size_and_reads_raw_bytes(httpx_mock: HTTPXMock) -> None:
    model = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
    httpx_mock.add_response(url=f"{CF}/{model}", content=PNG, headers={"content-type": "image/png"})
    job = ImageJob(prompt="a fox", width=4096, height=128, model=model, steps=4, seed=9)
    assert await generate("cloudflare", job, CF) == [ImageResult(data=PNG)]
    assert sent_json(httpx_mock) == {"prompt": "a fox", "width": 2048, "height": 256, "num_steps": 4, "seed": 9}


async def test_cloudflare_success_false_is_an_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"success": False, "errors": [{"code": 5006, "message": "internal"}]})
    with pytest.raises(VendorUnavailable):
        await generate("cloudflare", JOB, CF)


CHAT = "https://chat.example/v1/chat/completions"


def chat_reply(content: object) -> dict[str, object]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


async def test_chat_sends_the_prompt_as_a_user_message(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=CHAT, json=chat_reply("![img](https://cdn.example/a.png)"))
    await generate("chat", JOB, CHAT)
    assert sent_json(httpx_mock) == {
        "model": "vendor-model",
        "messages": [{"role": "user", "content": "a red fox"}],
        "stream": False,
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            "Sure! ![image](https://cdn.example/a.png) enjoy",
            [ImageResult(url="https://cdn.example/a.png")],
            id="markdown-image",
        ),
        pytest.param(
            "[download](https://cdn.example/b.webp)",
            [ImageResult(url="https://cdn.example/b.webp")],
            id="markdown-link",
        ),
        pytest.param(f"![x](data:image/png;base64,{PNG_B64})", [ImageResult(data=PNG)], id="data-uri-in-markdown"),
        pytest.param(f"here: data:image/png;base64,{PNG_B64}", [ImageResult(data=PNG)], id="bare-data-uri"),
        pytest.param(
            "![a](https://c.example/1.png) and again ![a](https://c.example/1.png)",
            [ImageResult(url="https://c.example/1.png")],
            id="repeats-dropped",
        ),
        pytest.param(
            [{"type": "text", "text": "![i](https://c.example/p.png)"}],
            [ImageResult(url="https://c.example/p.png")],
            id="content-parts",
        ),
    ],
)
async def test_chat_extracts_images_from_the_reply(
    httpx_mock: HTTPXMock, content: object, expected: list[ImageResult]
) -> None:
    httpx_mock.add_response(url=CHAT, json=chat_reply(content))
    assert await generate("chat", JOB, CHAT) == expected


async def test_chat_reads_the_images_list_some_upstreams_add(httpx_mock: HTTPXMock) -> None:
    reply = {
        "choices": [
            {
                "message": {
                    "content": "Here it is.",
                    "images": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}],
                }
            }
        ]
    }
    httpx_mock.add_response(url=CHAT, json=reply)
    assert await generate("chat", JOB, CHAT) == [ImageResult(data=PNG)]


async def test_chat_reply_without_an_image_is_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=CHAT, json=chat_reply("I cannot draw that, sorry."))
    with pytest.raises(MalformedReply):
        await generate("chat", JOB, CHAT)


async def test_demo_draws_the_requested_size_offline_and_deterministically() -> None:
    job = ImageJob(prompt="a lighthouse", width=640, height=384, model="demo", n=2)
    first = await generate("demo", job, "")
    second = await generate("demo", job, "")
    assert first == second
    assert first[0] != first[1]
    with Image.open(io.BytesIO(first[0].data or b"")) as image:
        assert image.size == (640, 384)
        assert image.format == "PNG"
