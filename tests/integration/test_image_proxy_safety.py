"""``/image-proxy?url=…&sig=…`` is never an open proxy, and no download reaches a place it must not.

Every refusal asserts what a user (or an attacker) would notice: the status,
the error code, that no outbound request was made where none should be, and
that nothing was stored.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from gateway.signing import LinkSigner
from tests.support.app import BASE_ENV, app_client, make_settings, vendor_env
from tests.support.images import png

SIGNER = LinkSigner(BASE_ENV["IMAGE_PROXY_SECRET"].encode())
IMAGE_URL = "https://images.example.com/outputs/cat.png?token=abc"


def proxy_path(url: str, sig: str | None = None) -> str:
    link = SIGNER.sign(url)
    return f"/image-proxy?{httpx.QueryParams({'url': url, 'sig': link.sig if sig is None else sig})}"


def stored(root: Path) -> list[Path]:
    return [path for path in root.glob("??/*") if not path.name.startswith(".")]


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


def settings_for(media: Path, **extra: str):  # type: ignore[no-untyped-def]
    return make_settings({"MEDIA_STORE": f"file://{media}", **extra})


async def test_a_signed_link_is_fetched_once_stored_and_served(httpx_mock: HTTPXMock, media: Path) -> None:
    picture = png(64, 32)
    httpx_mock.add_response(url=IMAGE_URL, content=picture, headers={"content-type": "application/octet-stream"})
    async with app_client(settings_for(media)) as client:
        first = await client.get(proxy_path(IMAGE_URL))
        second = await client.get(proxy_path(IMAGE_URL))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == picture
    assert first.headers["content-type"] == "image/png"  # sniffed, not the host's claim
    assert len(httpx_mock.get_requests()) == 1  # the second hit came from the store
    assert [path.read_bytes() for path in stored(media)] == [picture]


async def test_concurrent_first_hits_share_one_download(httpx_mock: HTTPXMock, media: Path) -> None:
    async def slow_image(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return httpx.Response(200, content=png())

    httpx_mock.add_callback(slow_image, url=IMAGE_URL)
    async with app_client(settings_for(media)) as client:
        replies = await asyncio.gather(*(client.get(proxy_path(IMAGE_URL)) for _ in range(5)))
    assert [reply.status_code for reply in replies] == [200] * 5
    assert len(httpx_mock.get_requests()) == 1
    assert len(stored(media)) == 1


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        pytest.param(proxy_path(IMAGE_URL), 200, None, id="valid"),
        pytest.param(proxy_path(IMAGE_URL).replace("cat.png", "dog.png"), 403, "invalid_signature", id="tampered-url"),
        pytest.param(proxy_path(IMAGE_URL, sig="0" * 64), 403, "invalid_signature", id="tampered-sig"),
        pytest.param(f"/image-proxy?{httpx.QueryParams({'url': IMAGE_URL})}", 403, "missing_signature", id="no-sig"),
        pytest.param(f"/image-proxy?sig={SIGNER.sign(IMAGE_URL).sig}", 400, "invalid_request", id="no-url"),
    ],
)
async def test_only_signed_links_are_fetched(
    httpx_mock: HTTPXMock, media: Path, path: str, status: int, code: str | None
) -> None:
    if status == 200:
        httpx_mock.add_response(url=IMAGE_URL, content=png())
    async with app_client(settings_for(media)) as client:
        reply = await client.get(path)
    assert reply.status_code == status
    if code:
        assert reply.json()["error"]["code"] == code
        assert httpx_mock.get_requests() == []  # no outbound request for an unsigned link
        assert stored(media) == []


FORBIDDEN_TARGETS = [
    pytest.param("http://127.0.0.1/cat.png", id="loopback"),
    pytest.param("http://10.20.30.40/cat.png", id="10.x"),
    pytest.param("http://192.168.1.20:8080/cat.png", id="192.168.x"),
    pytest.param("http://169.254.169.254/latest/meta-data/iam/security-credentials/", id="cloud-metadata"),
    pytest.param("http://[::1]/cat.png", id="ipv6-loopback"),
    pytest.param("http://[::ffff:127.0.0.1]/cat.png", id="ipv4-mapped"),
    pytest.param("http://[fe80::1]/cat.png", id="ipv6-link-local"),
    pytest.param("http://2130706433/cat.png", id="decimal-ip"),
    pytest.param("http://0x7f000001/cat.png", id="hex-ip"),
    pytest.param("http://0.0.0.0:8000/cat.png", id="unspecified"),
]


@pytest.mark.parametrize("url", FORBIDDEN_TARGETS)
async def test_private_and_special_addresses_are_refused(httpx_mock: HTTPXMock, media: Path, url: str) -> None:
    async with app_client(settings_for(media)) as client:
        reply = await client.get(proxy_path(url))
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["code"] == "forbidden_address"
    assert "private, loopback, link-local or reserved" in error["message"]
    assert httpx_mock.get_requests() == []
    assert stored(media) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://images.example.com/cat.png", "http:///cat.png"])
async def test_other_schemes_are_refused(httpx_mock: HTTPXMock, media: Path, url: str) -> None:
    async with app_client(settings_for(media)) as client:
        reply = await client.get(proxy_path(url))
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "url"
    assert httpx_mock.get_requests() == []
    assert stored(media) == []


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, int]]:
    """A real TCP listener on loopback, to prove nothing connected to it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    yield server, server.getsockname()[1]
    server.close()


async def test_a_hostname_that_resolves_to_a_private_address_is_refused_before_connecting(
    media: Path, listener: tuple[socket.socket, int]
) -> None:
    server, port = listener
    async with app_client(settings_for(media)) as client:  # the real transport: no HTTP mocking here
        reply = await client.get(proxy_path(f"http://localhost:{port}/cat.png"))
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "forbidden_address"
    assert "localhost" in reply.json()["error"]["message"]
    with pytest.raises(BlockingIOError):
        server.accept()  # nobody connected
    assert stored(media) == []


async def test_the_same_hostname_is_fetched_when_private_networks_are_allowed(media: Path) -> None:
    from tests.support.processes import fake_vendor

    with fake_vendor() as vendor:
        url = vendor.replace("127.0.0.1", "localhost") + "/files/40x30.png"
        async with app_client(settings_for(media, MEDIA_ALLOW_PRIVATE_NETWORKS="true")) as client:
            reply = await client.get(proxy_path(url))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/png"
    assert len(stored(media)) == 1


async def test_a_redirect_to_a_private_address_is_refused(httpx_mock: HTTPXMock, media: Path) -> None:
    httpx_mock.add_response(url=IMAGE_URL, status_code=302, headers={"location": "http://10.0.0.8/admin.png"})
    async with app_client(settings_for(media)) as client:
        reply = await client.get(proxy_path(IMAGE_URL))
    assert reply.status_code == 403
    assert "10.0.0.8" in reply.json()["error"]["message"]
    assert [str(request.url) for request in httpx_mock.get_requests()] == [IMAGE_URL]  # the hop was never made
    assert stored(media) == []


async def test_redirects_are_followed_at_most_three_times(httpx_mock: HTTPXMock, media: Path) -> None:
    for hop in range(4):
        target = f"https://images.example.com/hop{hop + 1}"
        httpx_mock.add_response(
            url=f"https://images.example.com/hop{hop}", status_code=302, headers={"location": target}
        )
    async with app_client(settings_for(media)) as client:
        reply = await client.get(proxy_path("https://images.example.com/hop0"))
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "too_many_redirects"
    assert len(httpx_mock.get_requests()) == 4
    assert stored(media) == []


async def test_a_public_redirect_is_followed(httpx_mock: HTTPXMock, media: Path) -> None:
    httpx_mock.add_response(url=IMAGE_URL, status_code=301, headers={"location": "/moved/cat.png"})
    httpx_mock.add_response(url="https://images.example.com/moved/cat.png", content=png())
    async with app_client(settings_for(media)) as client:
        reply = await client.get(proxy_path(IMAGE_URL))
    assert reply.status_code == 200
    assert len(stored(media)) == 1


CAP = "16384"
OVER_THE_CAP = png()[:8] + b"\0" * 40_000  # PNG magic, then far more than CAP bytes


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        pytest.param(
            {"content": b"<html><script>alert(1)</script></html>", "headers": {"content-type": "image/png"}},
            "not_an_image",
            id="html-labelled-as-png",
        ),
        pytest.param(
            {"stream": IteratorStream([OVER_THE_CAP[i : i + 1024] for i in range(0, len(OVER_THE_CAP), 1024)])},
            "too_large",
            id="over-the-cap-without-content-length",
        ),
        pytest.param(
            {"stream": IteratorStream([OVER_THE_CAP]), "headers": {"content-length": "100"}},
            "too_large",
            id="over-the-cap-with-a-lying-content-length",
        ),
        pytest.param({"status_code": 404}, "bad_status", id="error-status"),
    ],
)
async def test_what_the_image_host_sends_must_be_an_image_within_the_cap(
    httpx_mock: HTTPXMock, media: Path, reply: dict[str, Any], code: str
) -> None:
    httpx_mock.add_response(url=IMAGE_URL, **reply)
    async with app_client(settings_for(media, MEDIA_MAX_BYTES=CAP)) as client:
        answer = await client.get(proxy_path(IMAGE_URL))
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == code
    if code == "too_large":
        assert CAP in answer.json()["error"]["message"]
    assert stored(media) == []


async def test_private_targets_are_fetched_when_explicitly_allowed(httpx_mock: HTTPXMock, media: Path) -> None:
    httpx_mock.add_response(url="http://10.0.0.8/cat.png", content=png())
    async with app_client(settings_for(media, MEDIA_ALLOW_PRIVATE_NETWORKS="true")) as client:
        reply = await client.get(proxy_path("http://10.0.0.8/cat.png"))
    assert reply.status_code == 200
    assert len(stored(media)) == 1


# The same policy guards vendor result links on the chat path.

SF = vendor_env(1, "siliconflow", "https://sf.example/v1/images/generations", "pic", "sk-sf-1")


async def test_a_vendor_link_to_cloud_metadata_fails_the_chat_request_with_the_reason(
    httpx_mock: HTTPXMock, media: Path
) -> None:
    httpx_mock.add_response(
        url="https://sf.example/v1/images/generations",
        json={"images": [{"url": "http://169.254.169.254/latest/meta-data/"}]},
    )
    body = {"model": "pic", "messages": [{"role": "user", "content": "a fox"}]}
    async with app_client(settings_for(media, **SF)) as client:
        reply = await client.post("/v1/chat/completions", json=body)
    assert reply.status_code == 502
    error = reply.json()["error"]
    assert error["code"] == "forbidden_address"
    assert "169.254.169.254" in error["message"]
    assert len(httpx_mock.get_requests()) == 1  # only the vendor call; no download
    assert stored(media) == []


async def test_a_vendor_link_that_is_not_an_image_fails_the_chat_request(httpx_mock: HTTPXMock, media: Path) -> None:
    httpx_mock.add_response(
        url="https://sf.example/v1/images/generations", json={"images": [{"url": "https://sf-cdn.example/x.png"}]}
    )
    httpx_mock.add_response(
        url="https://sf-cdn.example/x.png", text="AccessDenied", headers={"content-type": "image/png"}
    )
    body = {"model": "pic", "messages": [{"role": "user", "content": "a fox"}]}
    async with app_client(settings_for(media, **SF)) as client:
        reply = await client.post("/v1/chat/completions", json=body)
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "not_an_image"
    assert stored(media) == []


async def test_a_download_past_its_deadline_is_abandoned(
    httpx_mock: HTTPXMock, media: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def stalled(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, content=png())

    httpx_mock.add_callback(stalled, url=IMAGE_URL)
    async with app_client(settings_for(media, MEDIA_FETCH_TIMEOUT_SECONDS="0.2")) as client:
        reply = await client.get(proxy_path(IMAGE_URL))
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "timeout"
    assert stored(media) == []
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [event["reason"] for event in logged if event["event"] == "media.fetch_refused"] == ["timeout"]
