"""``POST /v1/images/generations``: every field, every 400, fan-out, partial failure, and the models views."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png, size_of
from tests.support.markdown import image_links

OPENAI_URL = "https://img.example/v1/images/generations"
SF_URL = "https://sf.example/v1/images/generations"
CF_BASE = "https://cf.example/ai/run"
TWO_KEYS = "sk-img-first-000000001,sk-img-second-00000002"


def openai_group(n: int = 1, keys: str = "sk-img-000000000001", models: str = "pic=vendor-pic") -> dict[str, str]:
    return vendor_env(n, "openai", "https://img.example/v1", models, keys)


async def generate(body: dict[str, Any], env: dict[str, str] | None = None, **headers: str) -> httpx.Response:
    async with app_client(make_settings(env or {})) as client:
        return await client.post("/v1/images/generations", json=body, headers=headers)


def decoded(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["b64_json"])


def vendor_bodies(httpx_mock: HTTPXMock, url: str = OPENAI_URL) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in httpx_mock.get_requests(url=url)]


def distinct_pictures(request: httpx.Request) -> httpx.Response:
    """A vendor that paints each call differently (its own colour per seed, else per call)."""
    distinct_pictures.calls += 1  # type: ignore[attr-defined]
    shade = (json.loads(request.content).get("seed") or distinct_pictures.calls) % 256  # type: ignore[attr-defined]
    return httpx.Response(200, json={"data": [{"b64_json": b64(png(64, 64, (shade, 40, 90)))}]})


distinct_pictures.calls = 0  # type: ignore[attr-defined]


# The happy path and each field.


async def test_the_demo_default_answers_with_a_rehosted_link_of_the_default_size() -> None:
    async with app_client(make_settings()) as client:
        reply = await client.post("/v1/images/generations", json={"prompt": "a red fox in the snow"})
        assert reply.status_code == 200
        body = reply.json()
        assert isinstance(body["created"], int)
        [item] = body["data"]
        assert item["revised_prompt"] == "a red fox in the snow"
        assert re.fullmatch(r"http://testserver\.local/image-proxy/[0-9a-f]{32}\.png", item["url"])
        image = await client.get(item["url"])
    assert size_of(image.content) == (1024, 1024)
    assert reply.headers["x-imagegate-provider"] == "demo:demo"
    assert reply.headers["x-imagegate-attempts"] == "1"


async def test_b64_json_decodes_to_an_image_of_the_requested_size(tmp_path: Path) -> None:
    env = {"MEDIA_STORE": f"file://{tmp_path}"}
    reply = await generate({"prompt": "a lighthouse", "size": "768x512", "response_format": "b64_json"}, env)
    [item] = reply.json()["data"]
    assert "url" not in item
    assert size_of(decoded(item)) == (768, 512)
    stored = [p for p in tmp_path.glob("??/*.png")]
    assert [p.read_bytes() for p in stored] == [decoded(item)]  # kept in the store too


async def test_size_auto_and_no_size_give_the_default_size() -> None:
    for body in (
        {"prompt": "a fox", "size": "auto", "response_format": "b64_json"},
        {"prompt": "a fox", "response_format": "b64_json"},
    ):
        assert size_of(decoded((await generate(body)).json()["data"][0])) == (1024, 1024)


@pytest.mark.parametrize(
    ("ratio", "size"), [("16:9", (1024, 576)), ("16x9", (1024, 576)), ("9:16", (576, 1024)), ("4:3", (1152, 896))]
)
async def test_aspect_ratio_picks_the_size_from_the_ratio_table(ratio: str, size: tuple[int, int]) -> None:
    reply = await generate({"prompt": "a fox", "aspect_ratio": ratio, "response_format": "b64_json"})
    assert size_of(decoded(reply.json()["data"][0])) == size


async def test_an_explicit_size_wins_over_aspect_ratio() -> None:
    reply = await generate(
        {"prompt": "a fox", "aspect_ratio": "16:9", "size": "512x512", "response_format": "b64_json"}
    )
    assert size_of(decoded(reply.json()["data"][0])) == (512, 512)


@pytest.mark.parametrize(
    ("fields", "prompt"),
    [
        (
            {"style": "watercolor", "background": "snowy pines"},
            "a red fox in a watercolor style with a background of snowy pines",
        ),
        ({"style": "ukiyo-e"}, "a red fox in a ukiyo-e style"),
        ({"background": "a neon city"}, "a red fox with a background of a neon city"),
        ({"style": "  ", "background": ""}, "a red fox"),
    ],
)
async def test_style_and_background_build_the_prompt(
    httpx_mock: HTTPXMock, fields: dict[str, str], prompt: str
) -> None:
    httpx_mock.add_response(url=OPENAI_URL, json={"data": [{"b64_json": b64(png())}]})
    reply = await generate({"prompt": "  a red fox ", "model": "pic", **fields}, openai_group())
    assert vendor_bodies(httpx_mock)[0]["prompt"] == prompt
    assert reply.json()["data"][0]["revised_prompt"] == prompt


async def test_unknown_fields_are_ignored(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OPENAI_URL, json={"data": [{"b64_json": b64(png())}]})
    body = {"prompt": "a fox", "model": "pic", "quality": "hd", "moderation": "low", "x_custom": {"a": 1}}
    assert (await generate(body, openai_group())).status_code == 200


async def test_the_model_defaults_to_default_image_model_else_the_first_configured(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OPENAI_URL, json={"data": [{"b64_json": b64(png())}]}, is_reusable=True)
    env = openai_group(models="first=vendor-first,second=vendor-second")
    await generate({"prompt": "a fox"}, env)
    await generate({"prompt": "a fox"}, env | {"DEFAULT_IMAGE_MODEL": "second"})
    assert [body["model"] for body in vendor_bodies(httpx_mock)] == ["vendor-first", "vendor-second"]


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        pytest.param(
            vendor_env(1, "siliconflow", SF_URL, "pic=sf/flux", "sk-sf-000000000001"),
            SF_URL,
            {"num_inference_steps": 12, "seed": 7, "guidance_scale": 3.5, "negative_prompt": "blurry"},
            id="siliconflow",
        ),
        pytest.param(
            vendor_env(1, "cloudflare", CF_BASE, "pic=@cf/stabilityai/stable-diffusion-xl-base-1.0", "cf-000000000001"),
            f"{CF_BASE}/@cf/stabilityai/stable-diffusion-xl-base-1.0",
            {"num_steps": 12, "seed": 7, "guidance": 3.5, "negative_prompt": "blurry"},
            id="cloudflare",
        ),
        pytest.param(
            openai_group(),
            OPENAI_URL,
            {"steps": 12, "seed": 7, "guidance": 3.5, "negative_prompt": "blurry"},
            id="openai",
        ),
    ],
)
async def test_extras_reach_the_vendors_that_take_them(
    httpx_mock: HTTPXMock, env: dict[str, str], url: str, expected: dict[str, Any]
) -> None:
    if "siliconflow" in env.values():
        httpx_mock.add_response(url=url, json={"images": [{"url": "https://sf-cdn.example/x.png"}]})
        httpx_mock.add_response(url="https://sf-cdn.example/x.png", content=png())
    elif "cloudflare" in env.values():
        httpx_mock.add_response(url=url, content=png(), headers={"content-type": "image/png"})
    else:
        httpx_mock.add_response(url=url, json={"data": [{"b64_json": b64(png())}]})
    extras = {"steps": 12, "seed": 7, "guidance": 3.5, "negative_prompt": " blurry "}
    reply = await generate({"prompt": "a fox", "model": "pic", **extras}, env)
    assert reply.status_code == 200
    sent = json.loads(httpx_mock.get_requests(url=url)[0].content)
    assert {key: sent.get(key) for key in expected} == expected


async def test_extras_a_vendor_does_not_take_are_ignored_with_a_note_in_the_log(
    httpx_mock: HTTPXMock, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "![image](data:image/png;base64," + b64(png()) + ")"
    httpx_mock.add_response(
        url="https://chat.example/v1/chat/completions", json={"choices": [{"message": {"content": text}}]}
    )
    env = vendor_env(1, "chat", "https://chat.example/v1/chat/completions", "pic", "sk-chat-00000000001")
    reply = await generate({"prompt": "a fox", "model": "pic", "seed": 3, "negative_prompt": "blur"}, env)
    assert reply.status_code == 200
    sent = json.loads(httpx_mock.get_requests()[0].content)
    assert "seed" not in sent and "negative_prompt" not in sent
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [note] = [e for e in events if e["event"] == "job.extras_ignored"]
    assert note["fields"] == ["negative_prompt", "seed"] and note["route"] == "group1:pic"


# Fan-out.


async def test_n_pictures_are_concurrent_calls_spread_over_the_keys(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    httpx_mock.add_callback(distinct_pictures, url=OPENAI_URL, is_reusable=True)
    env = openai_group(keys=TWO_KEYS) | {"MEDIA_STORE": f"file://{tmp_path}"}
    reply = await generate({"prompt": "a fox", "model": "pic", "n": 4}, env)
    assert reply.status_code == 200
    urls = [item["url"] for item in reply.json()["data"]]
    assert len(urls) == 4 and len(set(urls)) == 4
    assert len(list(tmp_path.glob("??/*.png"))) == 4  # four distinct stored images
    keys = [r.headers["authorization"] for r in httpx_mock.get_requests(url=OPENAI_URL)]
    assert sorted(keys) == sorted(["Bearer sk-img-first-000000001", "Bearer sk-img-second-00000002"] * 2)
    assert all(body.get("n", 1) == 1 for body in vendor_bodies(httpx_mock))
    assert reply.headers["x-imagegate-attempts"] == "4"


async def test_a_seed_with_n_gives_each_picture_the_next_seed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_callback(distinct_pictures, url=OPENAI_URL, is_reusable=True)
    await generate({"prompt": "a fox", "model": "pic", "n": 3, "seed": 40}, openai_group())
    assert sorted(body["seed"] for body in vendor_bodies(httpx_mock)) == [40, 41, 42]


async def test_some_pictures_failing_for_good_still_returns_the_others(
    httpx_mock: HTTPXMock, capsys: pytest.CaptureFixture[str]
) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["seed"] == 12:
            return httpx.Response(500, json={"error": {"message": "GPU on fire"}})
        return distinct_pictures(request)

    httpx_mock.add_callback(vendor, url=OPENAI_URL, is_reusable=True)
    reply = await generate({"prompt": "a fox", "model": "pic", "n": 3, "seed": 10}, openai_group(keys=TWO_KEYS))
    assert reply.status_code == 200
    assert len(reply.json()["data"]) == 2
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [partial] = [e for e in events if e["event"] == "images.partial"]
    assert partial["made"] == 2 and partial["failed"] == 1


async def test_when_every_picture_fails_the_last_error_is_returned(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OPENAI_URL, status_code=500, is_reusable=True)
    reply = await generate({"prompt": "a fox", "model": "pic", "n": 2}, openai_group())
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "upstream_failed"


async def test_a_vendor_refusal_is_a_400_for_the_client(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OPENAI_URL, status_code=400, json={"error": {"message": "content policy violation"}})
    reply = await generate({"prompt": "a fox", "model": "pic"}, openai_group())
    assert reply.status_code == 400
    assert "content policy" in reply.json()["error"]["message"]


# Every 400 names its param.


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": 123}, "prompt"),
        ({"prompt": "  ab  "}, "prompt"),
        ({"prompt": "x" * 32_001}, "prompt"),
        ({"prompt": "a fox", "n": 0}, "n"),
        ({"prompt": "a fox", "n": 9}, "n"),
        ({"prompt": "a fox", "n": "2"}, "n"),
        ({"prompt": "a fox", "n": 1.5}, "n"),
        ({"prompt": "a fox", "size": "big"}, "size"),
        ({"prompt": "a fox", "size": "128x128"}, "size"),
        ({"prompt": "a fox", "size": "4096x1024"}, "size"),
        ({"prompt": "a fox", "size": 1024}, "size"),
        ({"prompt": "a fox", "response_format": "png"}, "response_format"),
        ({"prompt": "a fox", "aspect_ratio": "wide"}, "aspect_ratio"),
        ({"prompt": "a fox", "aspect_ratio": "8:1"}, "aspect_ratio"),
        ({"prompt": "a fox", "aspect_ratio": "0:1"}, "aspect_ratio"),
        ({"prompt": "a fox", "steps": 0}, "steps"),
        ({"prompt": "a fox", "steps": "many"}, "steps"),
        ({"prompt": "a fox", "seed": -1}, "seed"),
        ({"prompt": "a fox", "seed": 2**40}, "seed"),
        ({"prompt": "a fox", "guidance": -0.5}, "guidance"),
        ({"prompt": "a fox", "negative_prompt": ["blur"]}, "negative_prompt"),
        ({"prompt": "a fox", "style": 5}, "style"),
        ({"prompt": "a fox", "user": 5}, "user"),
    ],
)
async def test_bad_fields_are_400s_naming_the_param(body: dict[str, Any], param: str) -> None:
    reply = await generate(body)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


async def test_sizes_must_be_in_the_vendors_multiple(httpx_mock: HTTPXMock) -> None:
    sf = vendor_env(1, "siliconflow", SF_URL, "pic=sf/flux", "sk-sf-000000000001")
    reply = await generate({"prompt": "a fox", "model": "pic", "size": "1008x1008"}, sf)
    assert reply.status_code == 400 and "multiples of 64" in reply.json()["error"]["message"]
    httpx_mock.add_response(url=OPENAI_URL, json={"data": [{"b64_json": b64(png())}]})
    assert (await generate({"prompt": "a fox", "model": "pic", "size": "1008x1008"}, openai_group())).status_code == 200


async def test_an_unknown_model_is_a_404_naming_the_param() -> None:
    reply = await generate({"prompt": "a fox", "model": "nope"})
    assert reply.status_code == 404
    assert reply.json()["error"]["param"] == "model"


async def test_a_body_that_is_not_json_is_a_400() -> None:
    async with app_client(make_settings()) as client:
        reply = await client.post(
            "/v1/images/generations", content=b"prompt=a fox", headers={"content-type": "text/plain"}
        )
    assert reply.status_code == 400


async def test_rewriting_applies_and_is_returned_as_revised_prompt(httpx_mock: HTTPXMock) -> None:
    rewritten = "a red fox in a watercolor style, soft washes of orange, pale snowy pines behind, quiet winter mood"
    httpx_mock.add_response(
        url="https://llm.example/v1/chat/completions",
        json={"choices": [{"message": {"role": "assistant", "content": rewritten}}]},
    )
    httpx_mock.add_response(url=OPENAI_URL, json={"data": [{"b64_json": b64(png())}]})
    env = openai_group() | {
        "OPENAI_API_BASE": "https://llm.example/v1",
        "OPENAI_API_KEY": "sk-llm-000000000001",
        "OPENAI_MODEL": "mini",
    }
    reply = await generate({"prompt": "a fox", "model": "pic", "style": "watercolor"}, env)
    assert reply.json()["data"][0]["revised_prompt"] == rewritten
    llm_body = json.loads(httpx_mock.get_requests(url="https://llm.example/v1/chat/completions")[0].content)
    assert llm_body["messages"][-1]["content"] == "a fox in a watercolor style"
    assert vendor_bodies(httpx_mock)[0]["prompt"] == rewritten


# Models.


async def test_models_carry_their_group_and_the_detail_lists_every_group_with_its_price() -> None:
    env = (
        vendor_env(1, "openai", "https://img.example/v1", "flux=bfl/flux-pro,sdxl", "sk-img-000000000001")
        | {"IMAGE_GEN_COST_1": "flux=0.04"}
        | vendor_env(3, "siliconflow", SF_URL, "flux=black-forest-labs/FLUX.1-schnell", "sk-sf-000000000001")
        | {"IMAGE_GEN_COST_3": "0.003"}
    )
    async with app_client(make_settings(env)) as client:
        listing = (await client.get("/v1/models")).json()["data"]
        detail = (await client.get("/v1/models/flux")).json()
        sdxl = (await client.get("/v1/models/sdxl")).json()
    assert {m["id"]: m["owned_by"] for m in listing} == {"flux": "group1", "sdxl": "group1"}
    assert {m["id"]: m.get("cost_per_image") for m in listing} == {"flux": 0.04, "sdxl": None}
    assert detail["id"] == "flux" and detail["object"] == "model"
    assert detail["served_by"] == [
        {"group": "group1", "type": "openai", "vendor_model": "bfl/flux-pro", "edits": False, "cost_per_image": 0.04},
        {
            "group": "group3",
            "type": "siliconflow",
            "vendor_model": "black-forest-labs/FLUX.1-schnell",
            "edits": False,
            "cost_per_image": 0.003,
        },
    ]
    assert sdxl["served_by"] == [{"group": "group1", "type": "openai", "vendor_model": "sdxl", "edits": False}]


# The same extras as chat shortcuts.


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "pic", "messages": [{"role": "user", "content": "a fox 16:9"}], **extra}


async def test_chat_with_n_answers_one_markdown_image_per_picture(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_callback(distinct_pictures, url=OPENAI_URL, is_reusable=True)
    async with app_client(make_settings(openai_group(keys=TWO_KEYS))) as client:
        reply = await client.post("/v1/chat/completions", json=chat(n=3))
    content = reply.json()["choices"][0]["message"]["content"]
    assert len(image_links(content)) == 3
    assert len(httpx_mock.get_requests(url=OPENAI_URL)) == 3


async def test_chat_extras_reach_the_vendor_and_size_wins_over_the_words(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=OPENAI_URL, json={"data": [{"b64_json": b64(png())}]})
    async with app_client(make_settings(openai_group())) as client:
        reply = await client.post("/v1/chat/completions", json=chat(size="512x512", seed=9, negative_prompt="blur"))
    assert reply.status_code == 200
    sent = vendor_bodies(httpx_mock)[0]
    assert (sent["size"], sent["seed"], sent["negative_prompt"]) == ("512x512", 9, "blur")


@pytest.mark.parametrize(("extra", "param"), [({"n": 5}, "n"), ({"size": "2x2"}, "size"), ({"seed": "x"}, "seed")])
async def test_chat_extras_are_checked_like_the_images_api(extra: dict[str, Any], param: str) -> None:
    async with app_client(make_settings()) as client:
        reply = await client.post("/v1/chat/completions", json=chat(model="demo", **extra))
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == param


async def test_demo_pictures_of_one_request_differ() -> None:
    reply = await generate({"prompt": "a fox", "n": 2, "response_format": "b64_json"})
    first, second = (decoded(item) for item in reply.json()["data"])
    assert first != second
    assert Image.open(io.BytesIO(first)).size == (1024, 1024)
