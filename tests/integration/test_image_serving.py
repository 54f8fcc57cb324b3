"""How re-hosted images are served: safe headers for the public internet, and byte ranges."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient
from pytest_httpx import HTTPXMock

from config import Settings
from gateway.signing import LinkSigner
from tests.support.app import BASE_ENV, app_client, make_settings, vendor_env
from tests.support.images import png, size_of
from tests.support.markdown import image_links


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with app_client(make_settings()) as client:
        yield client


async def draw(client: AsyncTestClient, idea: str = "a kite 512x512") -> tuple[str, bytes]:  # type: ignore[type-arg]
    """Generate with the demo model; the image path and its bytes."""
    reply = await client.post(
        "/v1/chat/completions", json={"model": "demo", "messages": [{"role": "user", "content": idea}]}
    )
    found = re.search(r"/image-proxy/[0-9a-f]{32}\.png", reply.text)
    assert found, reply.text
    image = await client.get(found.group(0))
    assert image.status_code == 200
    return found.group(0), image.content


async def test_images_carry_headers_that_make_them_safe_to_embed_anywhere(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, _ = await draw(client)
    image = await client.get(path, headers={"Origin": "https://chat.example"})
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"] == f'inline; filename="{path.rsplit("/", 1)[1]}"'
    assert image.headers["content-security-policy"].startswith("default-src 'none'")
    assert "sandbox" in image.headers["content-security-policy"]
    assert image.headers["access-control-allow-origin"] == "*"
    assert image.headers["accept-ranges"] == "bytes"


async def test_if_none_match_with_several_tags_still_gets_a_304(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, _ = await draw(client)
    etag = (await client.head(path)).headers["etag"]
    cached = await client.get(path, headers={"If-None-Match": f'"other", {etag}'})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == etag
    stale = await client.get(path, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


async def test_head_gives_the_length_and_type_without_a_body(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, data = await draw(client)
    head = await client.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-64", -64, None)],
)
async def test_a_range_gets_a_206_with_exactly_those_bytes(
    client: AsyncTestClient,
    header: str,
    start: int,
    end: int | None,  # type: ignore[type-arg]
) -> None:
    path, data = await draw(client)
    part = await client.get(path, headers={"Range": header})
    assert part.status_code == 206
    expected = data[start : (end + 1 if end is not None else None)]
    assert part.content == expected
    assert part.headers["content-length"] == str(len(expected))
    first = start if start >= 0 else len(data) + start
    assert part.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


async def test_ranges_reassemble_into_the_whole_image(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, data = await draw(client, "a lighthouse 1024x1024")
    pieces, offset, step = [], 0, 4096
    while offset < len(data):
        part = await client.get(path, headers={"Range": f"bytes={offset}-{offset + step - 1}"})
        assert part.status_code == 206
        pieces.append(part.content)
        offset += step
    assert b"".join(pieces) == data
    assert size_of(b"".join(pieces)) == (1024, 1024)


async def test_a_range_past_the_end_is_416(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, data = await draw(client)
    reply = await client.get(path, headers={"Range": f"bytes={len(data)}-"})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == f"bytes */{len(data)}"


async def test_if_range_with_another_etag_gets_the_whole_image(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, data = await draw(client)
    etag = (await client.head(path)).headers["etag"]
    fresh = await client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert fresh.status_code == 200 and fresh.content == data
    matching = await client.get(path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert matching.status_code == 206 and matching.content == data[:10]


async def test_several_ranges_at_once_get_the_whole_image(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    path, data = await draw(client)
    reply = await client.get(path, headers={"Range": "bytes=0-9,20-29"})
    assert reply.status_code == 200 and reply.content == data


# MEDIA_MODE=link: vendor links are not downloaded at generation time.

SF = vendor_env(1, "siliconflow", "https://sf.example/v1/images/generations", "pic", "sk-sf-1")


async def test_link_mode_emits_signed_links_that_are_fetched_and_stored_on_first_hit(httpx_mock: HTTPXMock) -> None:
    vendor_link = "https://sf-cdn.example/outputs/x.png?expires=1700000000&sig=zz"
    httpx_mock.add_response(url="https://sf.example/v1/images/generations", json={"images": [{"url": vendor_link}]})
    settings = make_settings({"MEDIA_MODE": "link", **SF})
    async with app_client(settings) as client:
        reply = await client.post(
            "/v1/chat/completions", json={"model": "pic", "messages": [{"role": "user", "content": "a fox"}]}
        )
        assert reply.status_code == 200
        assert len(httpx_mock.get_requests()) == 1  # the vendor only: nothing downloaded yet
        [link] = image_links(reply.json()["choices"][0]["message"]["content"])
        parts = urlsplit(link)
        assert parts.path == "/image-proxy"
        query = parse_qs(parts.query)
        assert query["url"] == [vendor_link]
        assert LinkSigner(BASE_ENV["IMAGE_PROXY_SECRET"].encode()).verify(vendor_link, query["sig"][0])

        httpx_mock.add_response(url=vendor_link, content=png(32, 32))
        first = await client.get(f"{parts.path}?{parts.query}")
        again = await client.get(f"{parts.path}?{parts.query}")
    assert first.status_code == again.status_code == 200
    assert first.content == again.content == png(32, 32)
    assert len(httpx_mock.get_requests()) == 2  # vendor, then one download; the second hit came from the store


async def test_without_a_configured_secret_links_still_work_after_a_restart(
    httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    vendor_link = "https://sf-cdn.example/outputs/y.png"
    httpx_mock.add_response(url="https://sf.example/v1/images/generations", json={"images": [{"url": vendor_link}]})
    env = {"MEDIA_MODE": "link", "DATA_DIR": str(tmp_path / "data"), **SF}
    settings = Settings.from_env({k: v for k, v in BASE_ENV.items() if k != "IMAGE_PROXY_SECRET"} | env)
    assert settings.image_proxy_secret is None
    async with app_client(settings) as client:
        reply = await client.post(
            "/v1/chat/completions", json={"model": "pic", "messages": [{"role": "user", "content": "a fox"}]}
        )
    [link] = image_links(reply.json()["choices"][0]["message"]["content"])
    assert link.startswith("http://testserver.local/image-proxy?")
    assert (tmp_path / "data" / "image-proxy-secret").exists()

    httpx_mock.add_response(url=vendor_link, content=png(16, 16))
    async with app_client(settings) as restarted:  # a new process would read the same file
        served = await restarted.get(link.removeprefix("http://testserver.local"))
    assert served.status_code == 200 and served.content == png(16, 16)
