"""The gateway behind a real nginx under ``/imagegen/``, and who may tell it where it lives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.images import size_of
from tests.support.markdown import IMAGE
from tests.support.nginx import nginx, readme_location
from tests.support.processes import gateway

pytestmark = pytest.mark.e2e
CLIENT_KEY = "e2e-proxy-client-key-123456"


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(nginx base, gateway base): the README's nginx block in front of a gateway trusting 127.0.0.1 only."""
    work = tmp_path_factory.mktemp("proxy")
    env = {"AUTHORIZED_API_KEY": CLIENT_KEY, "TRUSTED_PROXIES": "127.0.0.1", "MEDIA_STORE": f"file://{work / 'media'}"}
    with gateway(env, cwd=work) as upstream, nginx(readme_location(upstream), work / "nginx") as proxy:
        yield proxy, upstream


def link_in(content: str) -> str:
    match = IMAGE.search(content)
    assert match, content
    return match.group("url")


def test_a_chat_completion_through_nginx_links_back_through_nginx(behind_nginx: tuple[str, str]) -> None:
    proxy, _ = behind_nginx
    client = openai.OpenAI(base_url=f"{proxy}/imagegen/v1", api_key=CLIENT_KEY)
    assert [model.id for model in client.models.list()] == ["demo"]
    reply = client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "a fox 16:9"}])
    url = link_in(reply.choices[0].message.content or "")
    assert url.startswith(f"{proxy}/imagegen/image-proxy/")
    image = httpx.get(url, timeout=10)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert size_of(image.content) == (1024, 576)
    part = httpx.get(url, headers={"Range": "bytes=0-15"}, timeout=10)
    assert part.status_code == 206 and part.content == image.content[:16]
    cached = httpx.get(url, headers={"If-None-Match": image.headers["etag"]}, timeout=10)
    assert cached.status_code == 304


def test_streaming_through_nginx_arrives_with_the_image(behind_nginx: tuple[str, str]) -> None:
    proxy, _ = behind_nginx
    client = openai.OpenAI(base_url=f"{proxy}/imagegen/v1", api_key=CLIENT_KEY)
    stream = client.chat.completions.create(
        model="demo", stream=True, messages=[{"role": "user", "content": "a lighthouse 1:1"}]
    )
    content = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    url = link_in(content)
    assert url.startswith(f"{proxy}/imagegen/image-proxy/")
    assert size_of(httpx.get(url, timeout=10).content) == (1024, 1024)


def test_health_and_errors_work_under_the_prefix(behind_nginx: tuple[str, str]) -> None:
    proxy, _ = behind_nginx
    assert httpx.get(f"{proxy}/imagegen/health").json()["status"] == "ok"
    missing = httpx.get(f"{proxy}/imagegen/image-proxy/{'0' * 32}.png")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    unsigned = httpx.get(f"{proxy}/imagegen/image-proxy", params={"url": "http://169.254.169.254/"})
    assert unsigned.status_code == 403


def chat(base: str, *, headers: dict[str, str], local_address: str = "127.0.0.1") -> str:
    """A chat request sent from ``local_address``; the link in its answer."""
    transport = httpx.HTTPTransport(local_address=local_address)
    with httpx.Client(transport=transport, timeout=30) as client:
        reply = client.post(
            f"{base}/v1/chat/completions",
            json={"model": "demo", "messages": [{"role": "user", "content": "a kite"}]},
            headers={"Authorization": f"Bearer {CLIENT_KEY}", **headers},
        )
    assert reply.status_code == 200, reply.text
    return link_in(reply.json()["choices"][0]["message"]["content"])


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "img.example.com", "X-Forwarded-Prefix": "/imagegen"}


def test_forwarded_headers_from_a_trusted_peer_build_the_links(behind_nginx: tuple[str, str]) -> None:
    _, upstream = behind_nginx
    assert chat(upstream, headers=FORWARDED).startswith("https://img.example.com/imagegen/image-proxy/")
    standard = {"Forwarded": 'for=203.0.113.9;proto=https;host="img.example.com"'}
    assert chat(upstream, headers=standard).startswith("https://img.example.com/image-proxy/")


def test_forwarded_headers_from_anyone_else_are_ignored(behind_nginx: tuple[str, str]) -> None:
    _, upstream = behind_nginx
    spoofed = {**FORWARDED, "Forwarded": "proto=https;host=evil.example"}
    # 127.0.0.2 is loopback too, but not in TRUSTED_PROXIES.
    link = chat(upstream, headers=spoofed, local_address="127.0.0.2")
    assert link.startswith(f"{upstream}/image-proxy/")


def test_public_base_url_wins_over_a_trusted_proxy(tmp_path: Path) -> None:
    env = {
        "AUTHORIZED_API_KEY": CLIENT_KEY,
        "TRUSTED_PROXIES": "127.0.0.1",
        "PUBLIC_BASE_URL": "https://images.example.org/gen",
        "MEDIA_STORE": "memory://",
    }
    with gateway(env, cwd=tmp_path) as upstream:
        assert chat(upstream, headers=FORWARDED).startswith("https://images.example.org/gen/image-proxy/")
