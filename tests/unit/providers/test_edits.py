"""Each adapter's edit and variation requests, as the vendor receives them (multipart bodies parsed back)."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image
from pytest_httpx import HTTPXMock

from providers import PROVIDERS, Edit, ImageJob, ImageResult, InputImage
from providers.demo import paint
from tests.support.images import b64, png, size_of
from tests.support.multipart import form_parts


def picture(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 40, 40)) -> InputImage:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return InputImage(out.getvalue(), "image/png", width, height)


def mask(width: int = 64, height: int = 64) -> InputImage:
    """Opaque everywhere but the left half, which is transparent: the area to edit."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return InputImage(out.getvalue(), "image/png", width, height)


SOURCE, SECOND, MASK = picture(), picture(color=(10, 10, 200)), mask()


def job(model: str, edit: Edit, prompt: str = "make it a watercolor") -> ImageJob:
    return ImageJob(prompt=prompt, width=512, height=512, model=model, edit=edit)


async def generate(kind: str, work: ImageJob, base_url: str) -> list[ImageResult]:
    async with httpx.AsyncClient() as client:
        return await PROVIDERS[kind].generate(work, base_url=base_url, key="sk-key", client=client)


async def test_openai_edit_is_multipart_with_every_picture_and_the_mask(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://o.example/v1/images/edits", json={"data": [{"b64_json": b64(png())}]})
    await generate("openai", job("gpt-image-1", Edit((SOURCE, SECOND), mask=MASK)), "https://o.example/v1")
    parts = form_parts(httpx_mock.get_request())
    fields = {name: content.decode() for name, filename, content in parts if filename is None}
    files = [(name, content) for name, filename, content in parts if filename is not None]
    assert fields == {"model": "gpt-image-1", "n": "1", "size": "512x512", "prompt": "make it a watercolor"}
    assert files == [("image[]", SOURCE.data), ("image[]", SECOND.data), ("mask", MASK.data)]
    assert httpx_mock.get_request().headers["authorization"] == "Bearer sk-key"


async def test_openai_single_picture_is_sent_as_image(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://o.example/v1/images/edits", json={"data": [{"b64_json": b64(png())}]})
    await generate("openai", job("gpt-image-1", Edit((SOURCE,))), "https://o.example/v1")
    assert [(name, filename) for name, filename, _ in form_parts(httpx_mock.get_request()) if filename] == [
        ("image", "image.png")
    ]


async def test_openai_variation_uses_the_variation_call_where_the_model_has_it(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://o.example/v1/images/variations", json={"data": [{"b64_json": b64(png())}]})
    httpx_mock.add_response(url="https://o.example/v1/images/edits", json={"data": [{"b64_json": b64(png())}]})
    await generate("openai", job("dall-e-2", Edit((SOURCE,), variation=True), prompt=""), "https://o.example/v1")
    await generate("openai", job("gpt-image-1", Edit((SOURCE,), variation=True), prompt=""), "https://o.example/v1")
    variation, edit = httpx_mock.get_requests()
    assert "prompt" not in {name for name, _, _ in form_parts(variation)}
    assert any(name == "prompt" and content.startswith(b"Another version") for name, _, content in form_parts(edit))


@pytest.mark.parametrize(
    ("kind", "model", "can"),
    [
        ("openai", "gpt-image-1", True),
        ("openai", "dall-e-3", False),
        ("cloudflare", "@cf/runwayml/stable-diffusion-v1-5-img2img", True),
        ("cloudflare", "@cf/black-forest-labs/flux-1-schnell", False),
        ("siliconflow", "Qwen/Qwen-Image-Edit-2509", True),
        ("siliconflow", "black-forest-labs/FLUX.1-schnell", False),
        ("chat", "gemini-2.5-flash-image", True),
        ("demo", "demo", True),
    ],
)
def test_each_adapter_knows_which_models_take_a_picture(kind: str, model: str, can: bool) -> None:
    assert PROVIDERS[kind].can_edit(model) is can


async def test_cloudflare_img2img_sends_the_picture_as_bytes_with_strength(httpx_mock: HTTPXMock) -> None:
    model = "@cf/runwayml/stable-diffusion-v1-5-img2img"
    httpx_mock.add_response(content=png(512, 512), headers={"content-type": "image/png"})
    await generate("cloudflare", job(model, Edit((SOURCE,), strength=0.4)), "https://cf.example/ai/run")
    body = json.loads(httpx_mock.get_request().content)
    assert str(httpx_mock.get_request().url) == f"https://cf.example/ai/run/{model}"
    assert bytes(body["image"]) == SOURCE.data and body["strength"] == 0.4
    assert body["prompt"] == "make it a watercolor" and "mask" not in body


async def test_cloudflare_inpainting_gets_a_mask_white_where_to_paint(httpx_mock: HTTPXMock) -> None:
    model = "@cf/runwayml/stable-diffusion-v1-5-inpainting"
    httpx_mock.add_response(content=png(512, 512), headers={"content-type": "image/png"})
    await generate("cloudflare", job(model, Edit((SOURCE,), mask=MASK)), "https://cf.example/ai/run")
    body = json.loads(httpx_mock.get_request().content)
    sent_mask = Image.open(io.BytesIO(bytes(body["mask"]))).convert("L")
    assert sent_mask.getpixel((5, 30)) == 255  # the transparent half: paint here
    assert sent_mask.getpixel((60, 30)) == 0


async def test_siliconflow_edit_sends_data_uris_and_no_size_to_qwen_edit(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"images": [{"url": "https://sf-cdn.example/x.png"}]}, is_reusable=True)
    await generate("siliconflow", job("Qwen/Qwen-Image-Edit-2509", Edit((SOURCE, SECOND))), "https://sf.example/v1")
    await generate("siliconflow", job("Kwai-Kolors/Kolors", Edit((SOURCE,))), "https://sf.example/v1")
    qwen, kolors = (json.loads(request.content) for request in httpx_mock.get_requests())
    assert qwen["image"] == SOURCE.data_uri and qwen["image2"] == SECOND.data_uri and "image_size" not in qwen
    assert kolors["image"] == SOURCE.data_uri and kolors["image_size"] == "512x512"


async def test_chat_edit_sends_the_picture_as_an_image_url_part(httpx_mock: HTTPXMock) -> None:
    reply: dict[str, Any] = {"choices": [{"message": {"content": f"![x](data:image/png;base64,{b64(png())})"}}]}
    httpx_mock.add_response(json=reply)
    await generate("chat", job("gemini-2.5-flash-image", Edit((SOURCE,))), "https://chat.example/v1/chat/completions")
    [message] = json.loads(httpx_mock.get_request().content)["messages"]
    assert message["content"] == [
        {"type": "text", "text": "make it a watercolor"},
        {"type": "image_url", "image_url": {"url": SOURCE.data_uri}},
    ]


def test_the_demo_edit_is_a_visible_change_of_the_input_inside_the_mask() -> None:
    source = picture(512, 512, (200, 40, 40))
    fresh = paint(ImageJob(prompt="p", width=512, height=512, model="demo", seed=1))
    edited = paint(ImageJob(prompt="p", width=512, height=512, model="demo", seed=1, edit=Edit((source,))))
    masked = paint(
        ImageJob(prompt="p", width=512, height=512, model="demo", seed=1, edit=Edit((source,), mask=mask(512, 512)))
    )
    assert size_of(edited) == size_of(fresh) == (512, 512) and edited != fresh
    assert paint(ImageJob(prompt="p", width=512, height=512, model="demo", seed=1, edit=Edit((source,)))) == edited
    inside, outside = (
        Image.open(io.BytesIO(masked)).convert("RGB").getpixel((10, 10)),
        Image.open(io.BytesIO(masked)).convert("RGB").getpixel((500, 10)),
    )
    assert outside == (200, 40, 40)  # outside the mask the input is untouched
    assert inside != (200, 40, 40)
