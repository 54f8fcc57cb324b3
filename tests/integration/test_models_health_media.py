"""Model listing, readiness, and serving re-hosted images."""

from __future__ import annotations

import json
import re

from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env

SECRET = "sk-live-very-secret-value-9876"


def two_group_settings() -> dict[str, str]:
    return vendor_env(1, "openai", "https://a.example/v1", "flux=black-forest/flux, sdxl", SECRET) | vendor_env(
        2, "cloudflare", "https://cf.example/ai/run", "flux=@cf/black-forest-labs/flux-1-schnell"
    )


async def test_models_are_listed_once_each_in_the_openai_shape() -> None:
    async with app_client(make_settings(two_group_settings())) as client:
        listing = (await client.get("/v1/models")).json()
        assert listing["object"] == "list"
        assert [m["id"] for m in listing["data"]] == ["flux", "sdxl"]
        assert all(m["object"] == "model" and isinstance(m["created"], int) for m in listing["data"])
        one = await client.get("/v1/models/flux")
        assert one.status_code == 200 and one.json()["id"] == "flux"
        missing = await client.get("/v1/models/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


async def test_model_ids_with_slashes_can_be_fetched() -> None:
    env = vendor_env(1, "cloudflare", "https://cf.example/ai/run", "@cf/black-forest-labs/flux-1-schnell")
    async with app_client(make_settings(env)) as client:
        response = await client.get("/v1/models/@cf/black-forest-labs/flux-1-schnell")
    assert response.status_code == 200
    assert response.json()["id"] == "@cf/black-forest-labs/flux-1-schnell"


async def test_readiness_reports_keys_by_fingerprint_without_calling_vendors() -> None:
    async with app_client(make_settings(two_group_settings())) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok" and body["ok"] == ["flux", "sdxl"]
    assert body["providers"][0]["keys"] == [{"key": "…9876", "state": "healthy"}]
    assert SECRET not in ready.text


async def test_keys_never_reach_logs_errors_or_health(httpx_mock: HTTPXMock, capsys: object) -> None:
    httpx_mock.add_response(
        url="https://a.example/v1/images/generations",
        status_code=401,
        json={"error": {"message": f"Incorrect API key provided: {SECRET}"}},
    )
    httpx_mock.add_response(
        url="https://cf.example/ai/run/@cf/black-forest-labs/flux-1-schnell",
        status_code=500,
        text=f"echo {SECRET}",
        is_reusable=True,
    )
    async with app_client(make_settings(two_group_settings())) as client:
        response = await client.post(
            "/v1/chat/completions", json={"model": "flux", "messages": [{"role": "user", "content": "a cat"}]}
        )
        ready = await client.get("/health/ready")
    assert response.status_code == 502
    output = capsys.readouterr()  # type: ignore[attr-defined]
    logged = output.out + output.err
    assert "vendor.attempt_failed" in logged
    for text in (response.text, ready.text, logged):
        assert SECRET not in text
    assert httpx_mock.get_requests()[0].headers["authorization"] == f"Bearer {SECRET}"


async def test_one_request_log_event_with_route_key_and_attempts(capsys: object) -> None:
    async with app_client(make_settings()) as client:
        await client.post(
            "/v1/chat/completions",
            json={"model": "demo", "messages": [{"role": "user", "content": "a kite"}]},
            headers={"X-Request-ID": "req-42"},
        )
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    lines = (captured.out + captured.err).splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    [completed] = [e for e in events if e["event"] == "request.completed" and e["path"] == "/v1/chat/completions"]
    assert completed["request_id"] == "req-42"
    assert completed["model"] == "demo" and completed["route"] == "demo:demo"
    assert completed["attempts"] == 1 and completed["status"] == 200 and "key" in completed
    assert isinstance(completed["latency_ms"], float)


async def test_stored_images_are_served_with_cache_headers_head_and_304() -> None:
    async with app_client(make_settings()) as client:
        response = await client.post(
            "/v1/chat/completions", json={"model": "demo", "messages": [{"role": "user", "content": "a kite"}]}
        )
        path = re.search(r"/image-proxy/[0-9a-f]{32}\.png", response.text)
        assert path
        image = await client.get(path.group(0))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert int(image.headers["content-length"]) == len(image.content)
        assert "immutable" in image.headers["cache-control"]
        etag = image.headers["etag"]
        head = await client.head(path.group(0))
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == image.headers["content-length"]
        cached = await client.get(path.group(0), headers={"If-None-Match": etag})
        assert cached.status_code == 304 and cached.content == b""


async def test_unknown_or_malformed_image_names_are_404_json() -> None:
    async with app_client(make_settings()) as client:
        for name in ("0123456789abcdef0123456789abcdef.png", "..%2F..%2Fetc%2Fpasswd", "abc.exe"):
            response = await client.get(f"/image-proxy/{name}")
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
