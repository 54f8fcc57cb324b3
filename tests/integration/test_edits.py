"""``/v1/images/edits`` and ``/variations``, and pictures in chat, with vendors mocked at the HTTP layer."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from pytest_httpx import HTTPXMock

from tests.support.app import GATEWAY, app_client, make_settings, vendor_env
from tests.support.images import b64, png, size_of
from tests.support.markdown import image_alts, image_links
from tests.support.multipart import fields_sent, files_sent

EDITS_URL = "https://o.example/v1/images/edits"
GENERATIONS_URL = "https://o.example/v1/images/generations"
OPENAI = vendor_env(1, "openai", "https://o.example/v1", "pic=gpt-image-1,wide=dall-e-3", "sk-o-000000000001")
SOURCE = png(64, 48)


def mask_png(width: int, height: int) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def answers_with(httpx_mock: HTTPXMock, url: str = EDITS_URL, size: tuple[int, int] = (64, 48)) -> None:
    httpx_mock.add_response(url=url, json={"data": [{"b64_json": b64(png(*size))}]}, is_reusable=True)


async def test_multipart_edit_sends_the_picture_and_answers_in_the_images_shape(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock)
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post(
            "/v1/images/edits",
            files={"image": ("fox.png", SOURCE, "image/png")},
            data={"prompt": "make it a watercolor", "model": "pic"},
        )
        assert reply.status_code == 200, reply.text
        [item] = reply.json()["data"]
        assert item["url"].startswith(f"{GATEWAY}/image-proxy/")
        assert (await client.get(item["url"].removeprefix(GATEWAY))).status_code == 200
    request = httpx_mock.get_request(url=EDITS_URL)
    assert files_sent(request) == [("image", SOURCE)]
    # A picture smaller than vendors take is edited at about a megapixel in its shape (4:3 here).
    assert fields_sent(request) == {
        "model": "gpt-image-1",
        "n": "1",
        "size": "1152x896",
        "prompt": "make it a watercolor",
    }


async def test_multipart_with_two_pictures_and_a_mask(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock)
    second = png(64, 48)[:-12] + png(64, 48)[-12:]  # same bytes: stored once, sent twice
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post(
            "/v1/images/edits",
            files=[
                ("image[]", ("a.png", SOURCE, "image/png")),
                ("image[]", ("b.png", second, "image/png")),
                ("mask", ("mask.png", mask_png(64, 48), "image/png")),
            ],
            data={"prompt": "add a hat", "model": "pic", "size": "1024x768", "response_format": "b64_json"},
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"][0]["b64_json"]
    sent = files_sent(httpx_mock.get_request(url=EDITS_URL))
    assert [name for name, _ in sent] == ["image[]", "image[]", "mask"]
    sent_mask = Image.open(io.BytesIO(sent[2][1]))
    assert sent_mask.mode == "RGBA" and sent_mask.getchannel("A").getpixel((5, 5)) == 0
    assert fields_sent(httpx_mock.get_request(url=EDITS_URL))["size"] == "1024x768"


@pytest.mark.parametrize("form", ["base64", "data-uri", "images-list"])
async def test_json_edit_takes_base64_a_data_uri_or_the_images_list(httpx_mock: HTTPXMock, form: str) -> None:
    answers_with(httpx_mock)
    bodies = {
        "base64": {"image": b64(SOURCE)},
        "data-uri": {"image": f"data:image/png;base64,{b64(SOURCE)}"},
        "images-list": {"images": [{"image_url": f"data:image/png;base64,{b64(SOURCE)}"}]},
    }
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post("/v1/images/edits", json={"prompt": "at night", "model": "pic", **bodies[form]})
    assert reply.status_code == 200, reply.text
    assert files_sent(httpx_mock.get_request(url=EDITS_URL)) == [("image", SOURCE)]


async def test_an_own_link_is_read_from_the_store_without_a_network_call(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock, url=GENERATIONS_URL)
    answers_with(httpx_mock)
    async with app_client(make_settings(OPENAI)) as client:
        made = await client.post("/v1/images/generations", json={"prompt": "a red fox", "model": "pic"})
        link = made.json()["data"][0]["url"]
        reply = await client.post("/v1/images/edits", json={"prompt": "at night", "model": "pic", "image": link})
    assert reply.status_code == 200, reply.text
    assert [str(r.url) for r in httpx_mock.get_requests()] == [GENERATIONS_URL, EDITS_URL]  # nothing fetched
    assert files_sent(httpx_mock.get_request(url=EDITS_URL)) == [("image", png(64, 48))]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/cat.png", "http://169.254.169.254/latest/meta-data/x.png"])
async def test_a_private_address_is_refused_and_nothing_is_fetched(httpx_mock: HTTPXMock, url: str) -> None:
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post("/v1/images/edits", json={"prompt": "at night", "model": "pic", "image": url})
    assert reply.status_code == 403
    assert reply.json()["error"]["param"] == "image" and reply.json()["error"]["code"] == "forbidden_address"
    assert httpx_mock.get_requests() == []


async def test_a_model_that_cannot_edit_is_a_400_naming_those_that_can(httpx_mock: HTTPXMock) -> None:
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post(
            "/v1/images/edits", files={"image": ("a.png", SOURCE, "image/png")}, data={"prompt": "x", "model": "wide"}
        )
    assert reply.status_code == 400
    assert reply.json()["error"] == {
        "message": "model 'wide' cannot edit pictures; models that can: pic",
        "type": "invalid_request_error",
        "param": "model",
        "code": "invalid_request",
    }
    assert httpx_mock.get_requests() == []


async def test_edits_fail_over_only_between_groups_that_can_edit(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "openai", "https://a.example/v1", "pic=dall-e-3", "sk-a-000000000001")
    env |= vendor_env(2, "openai", "https://b.example/v1", "pic=gpt-image-1", "sk-b-000000000001")
    env |= vendor_env(3, "openai", "https://c.example/v1", "pic=my-editor", "sk-c-000000000001")
    env["IMAGE_GEN_EDIT_MODELS_3"] = "my-editor"  # the operator says this one edits too
    httpx_mock.add_response(url="https://b.example/v1/images/edits", status_code=503)
    answers_with(httpx_mock, url="https://c.example/v1/images/edits")
    async with app_client(make_settings(env)) as client:
        reply = await client.post("/v1/images/edits", json={"prompt": "at night", "model": "pic", "image": b64(SOURCE)})
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-imagegate-provider"] == "group3:my-editor"
    assert [str(r.url) for r in httpx_mock.get_requests()] == [
        "https://b.example/v1/images/edits",
        "https://c.example/v1/images/edits",
    ]


@pytest.mark.parametrize(
    ("body", "param", "status"),
    [
        ({"prompt": "x", "model": "pic"}, "image", 400),
        ({"model": "pic", "image": "AAAA"}, "prompt", 400),
        ({"prompt": "x", "model": "pic", "image": b64(b"GIF87a" + b"\0" * 20)}, "image", 400),
        ({"prompt": "x", "model": "pic", "image": "not base64 at all!"}, "image", 400),
        ({"prompt": "x", "model": "pic", "image": b64(SOURCE), "strength": 2}, "strength", 400),
        ({"prompt": "x", "model": "pic", "image": b64(SOURCE), "mask": b64(mask_png(64, 64))}, "mask", 400),
        ({"prompt": "x", "model": "pic", "image": b64(SOURCE), "output_format": "bmp"}, "output_format", 400),
    ],
    ids=["no-image", "no-prompt", "broken-gif", "not-base64", "strength", "mask-shape", "output-format"],
)
async def test_bad_edits_are_clear_400s(
    httpx_mock: HTTPXMock, body: dict[str, object], param: str, status: int
) -> None:
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post("/v1/images/edits", json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["param"] == param
    assert httpx_mock.get_requests() == []


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(httpx_mock: HTTPXMock) -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # 64 megapixels in a few kilobytes
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post(
            "/v1/images/edits", json={"prompt": "x", "model": "pic", "image": b64(out.getvalue())}
        )
    assert reply.status_code == 400
    assert "8000x8000, more than" in reply.json()["error"]["message"]


async def test_a_mask_of_another_size_but_the_same_shape_is_resized(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock)
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post(
            "/v1/images/edits",
            json={"prompt": "x", "model": "pic", "image": b64(SOURCE), "mask": b64(mask_png(128, 96))},
        )
    assert reply.status_code == 200, reply.text
    [(_, _), (_, sent_mask)] = files_sent(httpx_mock.get_request(url=EDITS_URL))
    assert Image.open(io.BytesIO(sent_mask)).size == (64, 48)


async def test_variations_with_the_demo_mirror_the_input_n_times() -> None:
    async with app_client(make_settings({"FIT_TO_SIZE": "true"})) as client:
        reply = await client.post(
            "/v1/images/variations",
            files={"image": ("a.png", png(512, 512), "image/png")},
            data={"model": "demo", "n": "2", "size": "256x256", "response_format": "b64_json"},
        )
    assert reply.status_code == 200, reply.text
    pictures = [item["b64_json"] for item in reply.json()["data"]]
    assert len(set(pictures)) == 2


async def test_a_chat_message_with_a_picture_is_an_edit_of_it(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock)
    message = {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(SOURCE)}"}},
            {"type": "text", "text": "make it a watercolor"},
        ],
    }
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post("/v1/chat/completions", json={"model": "pic", "messages": [message]})
    assert reply.status_code == 200, reply.text
    assert image_links(reply.json()["choices"][0]["message"]["content"])
    request = httpx_mock.get_request(url=EDITS_URL)
    assert files_sent(request) == [("image", SOURCE)]
    assert fields_sent(request)["prompt"] == "make it a watercolor" and fields_sent(request)["size"] == "1152x896"


async def test_a_picture_for_a_model_that_cannot_edit_is_a_400_in_chat(httpx_mock: HTTPXMock) -> None:
    message = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(SOURCE)}"}}],
    }
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post("/v1/chat/completions", json={"model": "wide", "messages": [message]})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "model"


@pytest.mark.parametrize(("edit_previous", "second_call"), [("true", EDITS_URL), ("false", GENERATIONS_URL)])
@pytest.mark.httpx_mock(assert_all_responses_were_requested=False)
async def test_a_change_to_the_previous_picture_starts_from_it_when_the_model_can_edit(
    httpx_mock: HTTPXMock, edit_previous: str, second_call: str
) -> None:
    answers_with(httpx_mock, url=GENERATIONS_URL, size=(1024, 576))
    answers_with(httpx_mock, size=(1024, 576))
    env = OPENAI | {"CHAT_EDIT_PREVIOUS": edit_previous}
    async with app_client(make_settings(env)) as client:
        first = await client.post(
            "/v1/chat/completions", json={"model": "pic", "messages": [{"role": "user", "content": "a fox 16:9"}]}
        )
        answer = first.json()["choices"][0]["message"]["content"]
        messages = [
            {"role": "user", "content": "a fox 16:9"},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "make it a watercolor painting"},
        ]
        second = await client.post("/v1/chat/completions", json={"model": "pic", "messages": messages})
    assert second.status_code == 200, second.text
    calls = [str(r.url) for r in httpx_mock.get_requests()]
    assert calls == [GENERATIONS_URL, second_call]  # the previous picture came from the store, not the network
    # The answer records the whole changed description, for the next turn to change again.
    assert image_alts(second.json()["choices"][0]["message"]["content"]) == ["a fox, a watercolor painting"]
    if second_call == EDITS_URL:
        request = httpx_mock.get_request(url=EDITS_URL)
        assert files_sent(request) == [("image", png(1024, 576))]
        assert fields_sent(request)["prompt"] == "make it a watercolor painting"  # the user's change, as an instruction
        assert fields_sent(request)["size"] == "1024x576"


async def test_a_new_size_alone_is_drawn_again_not_cropped_from_the_previous_picture(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock, url=GENERATIONS_URL, size=(1024, 576))
    async with app_client(make_settings(OPENAI)) as client:
        first = await client.post(
            "/v1/chat/completions", json={"model": "pic", "messages": [{"role": "user", "content": "a fox 16:9"}]}
        )
        messages = [
            {"role": "user", "content": "a fox 16:9"},
            {"role": "assistant", "content": first.json()["choices"][0]["message"]["content"]},
            {"role": "user", "content": "make it square"},
        ]
        second = await client.post("/v1/chat/completions", json={"model": "pic", "messages": messages})
    assert second.status_code == 200, second.text
    assert [str(r.url) for r in httpx_mock.get_requests()] == [GENERATIONS_URL, GENERATIONS_URL]
    redrawn = json.loads(httpx_mock.get_requests()[1].content)
    assert (redrawn["prompt"], redrawn["size"]) == ("a fox", "1024x1024")


async def test_a_picture_sent_without_words_is_a_variation_with_a_caption() -> None:
    message = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(png(512, 512))}"}}],
    }
    async with app_client(make_settings()) as client:
        reply = await client.post("/v1/chat/completions", json={"model": "demo", "messages": [message]})
    content = reply.json()["choices"][0]["message"]["content"]
    assert image_alts(content)[0].startswith("Another version of this picture")
    assert content.endswith(image_alts(content)[0])


async def test_a_vendor_that_ignores_the_size_is_cropped_to_the_asked_shape(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "cloudflare", "https://cf.example/ai/run", "pic=@cf/black-forest-labs/flux-1-schnell", "k")
    env |= {"FIT_TO_SIZE": "true"}
    httpx_mock.add_response(json={"success": True, "result": {"image": b64(png(1024, 1024))}})
    async with app_client(make_settings(env)) as client:
        reply = await client.post(
            "/v1/images/generations", json={"prompt": "a fox", "model": "pic", "size": "1024x576"}
        )
        stored = await client.get(reply.json()["data"][0]["url"].removeprefix(GATEWAY))
    assert size_of(stored.content) == (1024, 576)


async def test_output_format_webp_converts_what_the_vendor_sent(httpx_mock: HTTPXMock) -> None:
    answers_with(httpx_mock, url=GENERATIONS_URL, size=(1024, 1024))
    async with app_client(make_settings(OPENAI)) as client:
        reply = await client.post(
            "/v1/images/generations",
            json={"prompt": "a fox", "model": "pic", "output_format": "webp", "output_compression": 80},
        )
        link = reply.json()["data"][0]["url"]
        stored = await client.get(link.removeprefix(GATEWAY))
    assert link.endswith(".webp") and stored.headers["content-type"] == "image/webp"
    assert json.loads(httpx_mock.get_request().content)["prompt"] == "a fox"
