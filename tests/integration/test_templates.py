"""Templates: saved presets applied by id or by name, and listed as models for chat UIs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png

KEY = "sk-alice-000000000001"
AUTH = {"Authorization": f"Bearer {KEY}"}
URL = "https://o.example/v1/images/generations"
PRODUCT = {
    "name": "Product photo",
    "model": "pic",
    "prompt": "studio product photograph of {prompt}, white background, soft shadow",
    "aspect_ratio": "3:2",
    "negative_prompt": "text, watermark",
    "as_model": True,
}
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)


@pytest.fixture
def settings(database_url: str) -> Any:
    env = vendor_env(1, "openai", "https://o.example/v1", "pic", "sk-o-000000000001")
    return make_settings(env | {"AUTHORIZED_API_KEY": f"alice:{KEY}", "DATABASE_URL": database_url})


@pytest.fixture(autouse=True)
def vendor(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json={"data": [{"b64_json": b64(png())}]}, is_reusable=True)


def sent(httpx_mock: HTTPXMock) -> dict[str, Any]:
    return dict(json.loads(httpx_mock.get_requests(url=URL)[-1].content))


async def test_a_template_applied_by_id_and_by_name_fills_what_the_request_leaves_out(
    httpx_mock: HTTPXMock, settings: Any
) -> None:
    async with app_client(settings) as client:
        created = await client.post("/v1/templates", json=PRODUCT, headers=AUTH)
        assert created.status_code == 201, created.text
        template = created.json()
        assert template["id"].startswith("tpl_") and template["name"] == "Product photo"
        by_id = await client.post(
            "/v1/images/generations", json={"prompt": "a red sneaker", "template_id": template["id"]}, headers=AUTH
        )
        first = sent(httpx_mock)
        by_name = await client.post(
            "/v1/images/generations",
            json={"prompt": "a teapot", "template": "Product photo", "size": "1024x1024"},
            headers=AUTH,
        )
        second = sent(httpx_mock)
    assert by_id.status_code == by_name.status_code == 200
    assert first["prompt"] == "studio product photograph of a red sneaker, white background, soft shadow"
    assert (first["model"], first["size"], first["negative_prompt"]) == ("pic", "768x512", "text, watermark")
    assert second["size"] == "1024x1024"  # the request's own field wins


async def test_a_template_saved_as_a_model_is_listed_and_picked_in_chat(httpx_mock: HTTPXMock, settings: Any) -> None:
    async with app_client(settings) as client:
        await client.post("/v1/templates", json=PRODUCT, headers=AUTH)
        models = [card["id"] for card in (await client.get("/v1/models", headers=AUTH)).json()["data"]]
        reply = await client.post(
            "/v1/chat/completions",
            json={"model": "Product photo", "messages": [{"role": "user", "content": "a red sneaker"}]},
            headers=AUTH,
        )
    assert "Product photo" in models and "pic" in models
    assert reply.status_code == 200, reply.text
    body = sent(httpx_mock)
    assert body["prompt"] == "studio product photograph of a red sneaker, white background, soft shadow"
    assert (body["model"], body["size"]) == ("pic", "768x512")


async def test_templates_are_listed_read_and_deleted(settings: Any) -> None:
    async with app_client(settings) as client:
        template = (await client.post("/v1/templates", json=PRODUCT | {"as_model": False}, headers=AUTH)).json()
        listed = (await client.get("/v1/templates", headers=AUTH)).json()["data"]
        one = await client.get(f"/v1/templates/{template['id']}", headers=AUTH)
        deleted = await client.delete(f"/v1/templates/{template['id']}", headers=AUTH)
        after = await client.post(
            "/v1/images/generations", json={"prompt": "a teapot", "template_id": template["id"]}, headers=AUTH
        )
    assert [t["id"] for t in listed] == [template["id"]] and one.json() == template
    assert deleted.json() == {"id": template["id"], "deleted": True, "object": "template"}
    assert after.status_code == 404 and after.json()["error"]["param"] == "template_id"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"name": ""}, "name"),
        ({"model": "nope"}, "model"),
        ({"name": "pic"}, "name"),
        ({"aspect_ratio": "9:1"}, "aspect_ratio"),
        ({"style": "x" * 201}, "style"),
        ({"steps": 0}, "steps"),
        ({"guidance": 99}, "guidance"),
    ],
)
async def test_a_bad_template_is_a_400_naming_the_field(settings: Any, change: dict[str, str], param: str) -> None:
    async with app_client(settings) as client:
        reply = await client.post("/v1/templates", json=PRODUCT | change, headers=AUTH)
    assert reply.status_code in (400, 404) and reply.json()["error"]["param"] == param


async def test_templates_survive_a_restart(settings: Any) -> None:
    async with app_client(settings) as client:
        await client.post("/v1/templates", json=PRODUCT, headers=AUTH)
    async with app_client(settings) as client:
        names = [t["name"] for t in (await client.get("/v1/templates", headers=AUTH)).json()["data"]]
    assert names == ["Product photo"]
