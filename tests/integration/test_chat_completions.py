"""``POST /v1/chat/completions`` through the app, every provider type, vendors mocked at HTTP."""

from __future__ import annotations

import json
import re

import pytest
from pytest_httpx import HTTPXMock

from tests.support.app import GATEWAY, app_client, make_settings, vendor_env
from tests.support.images import b64, jpeg, png, size_of
from tests.support.markdown import image_links


def chat(text: str, model: str = "pic", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


async def test_two_groups_first_keys_dead_and_rate_limited_second_group_serves(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "openai", "https://a.example/v1", "pic=a-pic", "sk-a-dead-000000001,sk-a-busy-000000002")
    env |= vendor_env(2, "siliconflow", "https://sf.example/v1/images/generations", "pic=sf-pic", "sk-sf-1")
    a_url = "https://a.example/v1/images/generations"
    httpx_mock.add_response(
        url=a_url,
        match_headers={"Authorization": "Bearer sk-a-dead-000000001"},
        status_code=401,
        json={"error": {"message": "Incorrect API key"}},
    )
    httpx_mock.add_response(
        url=a_url,
        match_headers={"Authorization": "Bearer sk-a-busy-000000002"},
        status_code=429,
        headers={"Retry-After": "60"},
    )
    httpx_mock.add_response(
        url="https://sf.example/v1/images/generations",
        json={"images": [{"url": "https://sf-cdn.example/tmp/x.png?sig=1"}]},
    )
    httpx_mock.add_response(url="https://sf-cdn.example/tmp/x.png?sig=1", content=png(1024, 576))

    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/chat/completions", json=chat("a red fox in the snow 16:9"))
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "chat.completion"
        content = body["choices"][0]["message"]["content"]
        [link] = image_links(content)
        assert link.startswith(f"{GATEWAY}/image-proxy/")
        assert content.endswith("a red fox in the snow")
        sent = json.loads(httpx_mock.get_requests(url="https://sf.example/v1/images/generations")[0].content)
        assert sent["model"] == "sf-pic" and sent["image_size"] == "1024x576"

        ready = (await client.get("/health/ready")).json()
        group1 = next(p for p in ready["providers"] if p["name"] == "group1")
        assert [k["state"] for k in group1["keys"]] == ["dead", "cooling"]
        assert [k["key"] for k in group1["keys"]] == ["…0001", "…0002"]
        assert 55 <= group1["keys"][1]["seconds_left"] <= 60

        # The vendor's temporary link is gone; ours still serves the image.
        image = await client.get(link.removeprefix(GATEWAY))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert size_of(image.content) == (1024, 576)


@pytest.mark.parametrize(
    ("kind", "base", "vendor_url", "reply", "download"),
    [
        pytest.param(
            "openai",
            "https://o.example/v1",
            "https://o.example/v1/images/generations",
            {"json": {"data": [{"b64_json": b64(png(1024, 1024))}]}},
            None,
            id="openai-b64",
        ),
        pytest.param(
            "openai",
            "https://o.example/v1",
            "https://o.example/v1/images/generations",
            {"json": {"data": [{"url": "https://cdn.example/o.png"}]}},
            "https://cdn.example/o.png",
            id="openai-url",
        ),
        pytest.param(
            "siliconflow",
            "https://sf.example/v1/images/generations",
            "https://sf.example/v1/images/generations",
            {"json": {"images": [{"url": "https://cdn.example/s.png"}]}},
            "https://cdn.example/s.png",
            id="siliconflow",
        ),
        pytest.param(
            "cloudflare",
            "https://cf.example/ai/run",
            "https://cf.example/ai/run/@cf/black-forest-labs/flux-1-schnell",
            {"json": {"success": True, "result": {"image": b64(jpeg())}}},
            None,
            id="cloudflare-flux-json",
        ),
        pytest.param(
            "cloudflare",
            "https://cf.example/ai/run",
            "https://cf.example/ai/run/@cf/black-forest-labs/flux-1-schnell",
            {"content": png(), "headers": {"content-type": "image/png"}},
            None,
            id="cloudflare-raw-bytes",
        ),
        pytest.param(
            "chat",
            "https://c.example/v1/chat/completions",
            "https://c.example/v1/chat/completions",
            {"json": {"choices": [{"message": {"content": "Done: ![x](https://cdn.example/c.png)"}}]}},
            "https://cdn.example/c.png",
            id="chat-markdown",
        ),
        pytest.param(
            "chat",
            "https://c.example/v1/chat/completions",
            "https://c.example/v1/chat/completions",
            {"json": {"choices": [{"message": {"content": f"data:image/png;base64,{b64(png())}"}}]}},
            None,
            id="chat-data-uri",
        ),
    ],
)
async def test_a_chat_request_through_each_provider_type(
    httpx_mock: HTTPXMock, kind: str, base: str, vendor_url: str, reply: dict[str, object], download: str | None
) -> None:
    models = "pic=@cf/black-forest-labs/flux-1-schnell" if kind == "cloudflare" else "pic"
    httpx_mock.add_response(url=vendor_url, **reply)  # type: ignore[arg-type]
    if download:
        httpx_mock.add_response(url=download, content=png(), headers={"content-type": "application/octet-stream"})
    async with app_client(make_settings(vendor_env(1, kind, base, models))) as client:
        response = await client.post("/v1/chat/completions", json=chat("a quiet harbour"))
        assert response.status_code == 200, response.text
        [link] = image_links(response.json()["choices"][0]["message"]["content"])
        image = await client.get(link.removeprefix(GATEWAY))
        assert image.status_code == 200
        assert image.headers["content-type"] in {"image/png", "image/jpeg"}
    assert httpx_mock.get_requests(url=vendor_url)[0].headers["authorization"] == "Bearer key-one"


async def test_the_demo_default_draws_the_requested_size() -> None:
    async with app_client(make_settings()) as client:
        response = await client.post("/v1/chat/completions", json=chat("a lighthouse 9:16", model="demo"))
        [link] = image_links(response.json()["choices"][0]["message"]["content"])
        image = await client.get(link.removeprefix(GATEWAY))
        assert size_of(image.content) == (576, 1024)


async def test_content_parts_text_is_joined_and_the_attached_picture_is_what_changes() -> None:
    messages = [
        {"role": "user", "content": "an old idea"},
        {"role": "assistant", "content": "![image](http://x/y.png)"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "a blue"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(png(64, 64))}"}},
                {"type": "text", "text": "teapot 3:2"},
            ],
        },
    ]
    async with app_client(make_settings()) as client:
        response = await client.post("/v1/chat/completions", json={"model": "demo", "messages": messages})
        content = response.json()["choices"][0]["message"]["content"]
        assert content.endswith("a blue\nteapot")
        [link] = image_links(content)
        assert size_of((await client.get(link.removeprefix(GATEWAY))).content) == (768, 512)


async def test_public_base_url_makes_links_absolute_with_its_prefix() -> None:
    settings = make_settings({"PUBLIC_BASE_URL": "https://img.example.com/imagegen/"})
    async with app_client(settings) as client:
        response = await client.post("/v1/chat/completions", json=chat("a kite", model="demo"))
        [link] = image_links(response.json()["choices"][0]["message"]["content"])
        assert re.fullmatch(r"https://img\.example\.com/imagegen/image-proxy/[0-9a-f]{32}\.png", link)


async def test_a_vendor_400_reaches_the_client_with_its_message(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "openai", "https://a.example/v1", "pic") | vendor_env(
        2, "openai", "https://b.example/v1", "pic"
    )
    httpx_mock.add_response(
        url="https://a.example/v1/images/generations",
        status_code=400,
        json={"error": {"message": "Your prompt was flagged by the safety system."}},
    )
    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/chat/completions", json=chat("something"))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "Your prompt was flagged by the safety system.",
        "type": "invalid_request_error",
        "param": "prompt",
        "code": "vendor_rejected",
    }


async def test_cooling_keys_answer_503_with_retry_after(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://a.example/v1/images/generations", status_code=429, headers={"Retry-After": "90"}
    )
    async with app_client(make_settings(vendor_env(1, "openai", "https://a.example/v1", "pic"))) as client:
        response = await client.post("/v1/chat/completions", json=chat("a cat"))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "90"
        assert response.json()["error"]["code"] == "keys_cooling_down"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["failing"] == {"pic": "every key of every route is cooling down or dead"}


async def test_vendor_failures_answer_502_without_the_vendor_body(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://a.example/v1/images/generations",
        status_code=500,
        text="Traceback: internal secret stuff",
        is_reusable=True,
    )
    async with app_client(make_settings(vendor_env(1, "openai", "https://a.example/v1", "pic"))) as client:
        response = await client.post("/v1/chat/completions", json=chat("a cat"))
    assert response.status_code == 502
    assert "secret stuff" not in response.text
    assert response.json()["error"]["type"] == "upstream_error"


async def test_a_vendor_result_that_is_not_an_image_is_refused(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://a.example/v1/images/generations", json={"data": [{"url": "https://cdn.example/page.png"}]}
    )
    httpx_mock.add_response(
        url="https://cdn.example/page.png", text="<html>login</html>", headers={"content-type": "image/png"}
    )
    async with app_client(make_settings(vendor_env(1, "openai", "https://a.example/v1", "pic"))) as client:
        response = await client.post("/v1/chat/completions", json=chat("a cat"))
    assert response.status_code == 502
    assert "not a PNG" in response.json()["error"]["message"]
