"""Every bad input gets an OpenAI error with the right status; auth on /v1 only."""

from __future__ import annotations

import pytest

from tests.support.app import app_client, make_settings
from tests.support.markdown import image_links

CLIENT_KEY = "client-key-0123456789"


def error_of(body: dict[str, object]) -> dict[str, object]:
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        pytest.param(b"{not json", 400, None, id="malformed-json"),
        pytest.param(b"", 400, None, id="empty-body"),
        pytest.param(b"[1, 2]", 400, None, id="not-an-object"),
        pytest.param(b'{"model": "demo"}', 400, "messages", id="missing-messages"),
        pytest.param(b'{"messages": [{"role": "user", "content": "a cat"}]}', 400, "model", id="missing-model"),
        pytest.param(b'{"model": "demo", "messages": []}', 400, "messages", id="no-messages"),
        pytest.param(
            b'{"model": "demo", "messages": [{"role": "system", "content": "hi"}]}',
            400,
            "messages",
            id="no-user-message",
        ),
        pytest.param(
            b'{"model": "demo", "messages": [{"role": "user", "content": "   "}]}', 400, "messages", id="empty-prompt"
        ),
        pytest.param(
            b'{"model": "demo", "messages": [{"role": "user", "content": "16:9"}]}',
            400,
            "messages",
            id="prompt-only-a-ratio",
        ),
        pytest.param(b'{"model": "demo", "messages": "a cat"}', 400, "messages", id="messages-wrong-type"),
        pytest.param(
            b'{"model": 5, "messages": [{"role": "user", "content": "a cat"}]}', 400, "model", id="model-wrong-type"
        ),
        pytest.param(
            b'{"model": "dall-e-9", "messages": [{"role": "user", "content": "a cat"}]}',
            404,
            "model",
            id="unknown-model",
        ),
    ],
)
async def test_bad_chat_requests(body: bytes, status: int, param: str | None) -> None:
    async with app_client(make_settings()) as client:
        response = await client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert error_of(response.json())["param"] == param


async def test_unknown_model_lists_the_available_ones() -> None:
    async with app_client(make_settings()) as client:
        response = await client.post(
            "/v1/chat/completions", json={"model": "x", "messages": [{"role": "user", "content": "a cat"}]}
        )
    assert "available models: demo" in str(error_of(response.json())["message"])


async def test_wrong_method_and_unknown_path() -> None:
    async with app_client(make_settings()) as client:
        wrong_method = await client.get("/v1/chat/completions")
        unknown = await client.get("/v1/nothing-here")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method.json())["code"] == "method_not_allowed"
    assert unknown.status_code == 404
    assert error_of(unknown.json())["code"] == "not_found"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer wrong"}, id="wrong-key"),
        pytest.param({"Authorization": f"Basic {CLIENT_KEY}"}, id="wrong-scheme"),
    ],
)
async def test_v1_needs_a_client_key(headers: dict[str, str]) -> None:
    settings = make_settings({"AUTHORIZED_API_KEY": f"other-key,{CLIENT_KEY}"})
    async with app_client(settings) as client:
        for response in (
            await client.get("/v1/models", headers=headers),
            await client.post("/v1/chat/completions", headers=headers, json={}),
        ):
            assert response.status_code == 401
            assert error_of(response.json())["code"] == "invalid_api_key"
            assert CLIENT_KEY not in response.text


async def test_a_valid_key_is_let_in_and_health_and_images_are_public() -> None:
    settings = make_settings({"AUTHORIZED_API_KEY": f"other-key,{CLIENT_KEY}"})
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    async with app_client(settings) as client:
        assert (await client.get("/v1/models", headers=auth)).status_code == 200
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/v1/health")).json() == {"status": "ok"}
        assert (await client.get("/health/ready")).status_code == 200
        response = await client.post(
            "/v1/chat/completions",
            headers=auth,
            json={"model": "demo", "messages": [{"role": "user", "content": "a kite"}]},
        )
        [link] = image_links(response.json()["choices"][0]["message"]["content"])
        assert (await client.get(link.split("testserver.local")[1])).status_code == 200
