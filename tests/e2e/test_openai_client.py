"""The gateway as a real process on 127.0.0.1, driven by the real ``openai`` package."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.fake_vendor import picture
from tests.support.images import size_of
from tests.support.markdown import IMAGE
from tests.support.processes import fake_vendor, gateway

pytestmark = pytest.mark.e2e
CLIENT_KEY = "e2e-client-key-123456"


def downloaded_size(content: str) -> tuple[int, int]:
    match = IMAGE.search(content)
    assert match, content
    response = httpx.get(match.group("url"), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/")
    return size_of(response.content)


@pytest.fixture(scope="module")
def demo_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("demo")
    with gateway({"AUTHORIZED_API_KEY": CLIENT_KEY}, cwd=workdir) as base:
        yield base


@pytest.fixture(scope="module")
def vendor_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Two groups serving ``pic``: the first with a dead and a rate-limited key, the second SiliconFlow-type."""
    workdir = tmp_path_factory.mktemp("vendor")
    with fake_vendor() as vendor:
        env = {
            "AUTHORIZED_API_KEY": CLIENT_KEY,
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic=fake-image-1",
            "IMAGE_GEN_API_KEY_1": "dead-key-000000000001,busy-key-000000000002",
            "IMAGE_GEN_TYPE_3": "siliconflow",
            "IMAGE_GEN_API_BASE_3": f"{vendor}/siliconflow",
            "IMAGE_GEN_MODEL_3": "pic=fake/flux",
            "IMAGE_GEN_API_KEY_3": "good-key-000000000003",
            "MEDIA_STORE": f"file://{workdir / 'media'}",
            "MEDIA_ALLOW_PRIVATE_NETWORKS": "true",  # the fake vendor's image links are on loopback
        }
        with gateway(env, cwd=workdir) as base:
            yield base, workdir


def client_for(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)


def test_demo_models_list(demo_gateway: str) -> None:
    models = client_for(demo_gateway).models.list()
    assert [model.id for model in models.data] == ["demo"]


def test_demo_chat_completion_returns_a_link_to_an_image_of_the_requested_size(demo_gateway: str) -> None:
    completion = client_for(demo_gateway).chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "a red fox in the snow 16:9"}]
    )
    content = completion.choices[0].message.content or ""
    assert content.endswith("a red fox in the snow")
    assert downloaded_size(content) == (1024, 576)


def test_demo_streamed_chat_completion(demo_gateway: str) -> None:
    stream = client_for(demo_gateway).chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "a lighthouse 9:16"}], stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert downloaded_size(content) == (576, 1024)


def test_wrong_client_key_is_an_authentication_error(demo_gateway: str) -> None:
    client = openai.OpenAI(base_url=f"{demo_gateway}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_unknown_model_is_a_not_found_error(demo_gateway: str) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client_for(demo_gateway).chat.completions.create(
            model="dall-e-9", messages=[{"role": "user", "content": "a cat"}]
        )
    assert "demo" in str(raised.value)


def test_vendor_failover_and_rehosting_through_a_real_vendor_server(vendor_gateway: tuple[str, Path]) -> None:
    base, workdir = vendor_gateway
    client = client_for(base)
    completion = client.chat.completions.create(
        model="pic", messages=[{"role": "user", "content": "a harbour at dawn 3:2"}]
    )
    content = completion.choices[0].message.content or ""
    assert downloaded_size(content) == (768, 512)
    assert IMAGE.search(content).group("url").startswith(f"{base}/image-proxy/")  # type: ignore[union-attr]
    stored = list((workdir / "media").rglob("*.png"))
    assert len(stored) == 1
    assert httpx.get(f"{base}/health/ready").json() == {"status": "ok"}  # no key: no detail
    ready = httpx.get(f"{base}/health/ready", headers={"Authorization": f"Bearer {CLIENT_KEY}"}).json()
    states = {p["name"]: [k["state"] for k in p["keys"]] for p in ready["providers"]}
    assert states == {"group1": ["dead", "cooling"], "group3": ["healthy"]}


def test_streamed_request_through_a_real_vendor_server(vendor_gateway: tuple[str, Path]) -> None:
    base, _ = vendor_gateway
    stream = client_for(base).chat.completions.create(
        model="pic", messages=[{"role": "user", "content": "a kite over dunes --ar 16:9"}], stream=True
    )
    content = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert downloaded_size(content) == (1024, 576)


def test_a_client_that_hangs_up_mid_stream_still_gets_its_image_stored(tmp_path: Path) -> None:
    expected = f"/image-proxy/{hashlib.sha256(picture(640, 640)).hexdigest()[:32]}.png"  # names are content hashes
    with fake_vendor(latency=1.0) as vendor:
        env = {
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic",
            "IMAGE_GEN_API_KEY_1": "good-key-000000000001",
        }
        with gateway(env, cwd=tmp_path) as base:
            body = {"model": "pic", "stream": True, "messages": [{"role": "user", "content": "a kite 640x640"}]}
            with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=10) as response:
                first = next(response.iter_lines())
                assert first.startswith("data: ")
            assert httpx.get(f"{base}{expected}").status_code == 404  # the vendor is still working
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and httpx.get(f"{base}{expected}").status_code != 200:
                time.sleep(0.1)
            stored = httpx.get(f"{base}{expected}")
            assert stored.status_code == 200
            assert size_of(stored.content) == (640, 640)
