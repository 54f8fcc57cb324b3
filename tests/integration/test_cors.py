"""Browsers may call the API: preflights without auth, the SDKs' headers allowed, answers readable cross-origin."""

from __future__ import annotations

import pytest

from tests.support.app import app_client, make_settings

KEY = "sk-client-000000000001"
PAGE = "https://chat.example.org"
SDK_HEADERS = "authorization,content-type,openai-organization,x-stainless-lang,x-stainless-retry-count"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/images/generations", "/v1/images/edits", "/v1/models"])
async def test_a_preflight_is_answered_without_the_key_and_allows_the_sdk_headers(path: str) -> None:
    async with app_client(make_settings({"AUTHORIZED_API_KEY": KEY})) as client:
        reply = await client.options(
            path,
            headers={
                "Origin": PAGE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": SDK_HEADERS,
            },
        )
    assert reply.status_code == 204
    assert reply.headers["access-control-allow-origin"] == "*"
    allowed = {header.strip().lower() for header in reply.headers["access-control-allow-headers"].split(",")}
    assert set(SDK_HEADERS.split(",")) <= allowed
    assert "POST" in reply.headers["access-control-allow-methods"]


async def test_answers_and_errors_carry_the_cors_headers_and_expose_ours() -> None:
    async with app_client(make_settings({"AUTHORIZED_API_KEY": KEY})) as client:
        body = {"model": "demo", "prompt": "a kite"}
        made = await client.post(
            "/v1/images/generations", json=body, headers={"Origin": PAGE, "Authorization": f"Bearer {KEY}"}
        )
        refused = await client.post("/v1/images/generations", json=body, headers={"Origin": PAGE})
    assert made.status_code == 200 and refused.status_code == 401
    for reply in (made, refused):
        assert reply.headers["access-control-allow-origin"] == "*"
    exposed = made.headers["access-control-expose-headers"].lower()
    assert "x-imagegate-provider" in exposed and "x-imagegate-attempts" in exposed and "retry-after" in exposed


async def test_origins_can_be_limited_or_cors_turned_off() -> None:
    preflight = {"Origin": PAGE, "Access-Control-Request-Method": "POST"}
    async with app_client(make_settings({"CORS_ALLOW_ORIGINS": "https://ui.example.org"})) as client:
        other = await client.options("/v1/chat/completions", headers=preflight)
        listed = await client.options("/v1/chat/completions", headers={**preflight, "Origin": "https://ui.example.org"})
    assert other.status_code == 400
    assert listed.status_code == 204 and listed.headers["access-control-allow-origin"] == "https://ui.example.org"
    async with app_client(make_settings({"CORS_ALLOW_ORIGINS": ""})) as client:
        plain = await client.get("/v1/models", headers={"Origin": PAGE})
    assert "access-control-allow-origin" not in plain.headers
