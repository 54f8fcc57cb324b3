"""The images API through a real gateway process and a real fake vendor, called with the ``openai`` package."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.app import vendor_env
from tests.support.images import size_of
from tests.support.processes import fake_vendor, gateway

pytestmark = pytest.mark.e2e
CLIENT_KEY = "e2e-images-client-key-12345"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    workdir: Path = tmp_path_factory.mktemp("images")
    with fake_vendor() as vendor:
        env = {
            "AUTHORIZED_API_KEY": CLIENT_KEY,
            **vendor_env(1, "openai", f"{vendor}/openai", "pic=fake-image-1", "key-a-0000000001,key-b-0000000002"),
            "MEDIA_STORE": f"file://{workdir / 'media'}",
        }
        with gateway(env, cwd=workdir) as base:
            yield openai.OpenAI(base_url=f"{base}/v1", api_key=CLIENT_KEY)


def test_url_format(client: openai.OpenAI) -> None:
    result = client.images.generate(model="pic", prompt="a heron at dawn", n=2, size="1024x576")
    assert result.data is not None and len(result.data) == 2
    for image in result.data:
        assert image.url and "/image-proxy/" in image.url
        assert image.revised_prompt == "a heron at dawn"
        assert size_of(httpx.get(image.url, timeout=10).content) == (1024, 576)


def test_b64_json_format(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="pic", prompt="a heron at dawn", n=2, size="1024x576", response_format="b64_json"
    )
    assert result.data is not None and len(result.data) == 2
    for image in result.data:
        assert image.url is None and image.b64_json
        assert size_of(base64.b64decode(image.b64_json)) == (1024, 576)


def test_raw_response_headers_name_the_provider(client: openai.OpenAI) -> None:
    raw = client.images.with_raw_response.generate(model="pic", prompt="a heron at dawn", size="1024x576")
    assert raw.headers["x-imagegate-provider"] == "group1:fake-image-1"
    assert raw.headers["x-imagegate-attempts"] == "1"
    assert raw.parse().data


def test_a_bad_field_is_a_bad_request_error_naming_the_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="pic", prompt="a heron", n=9)
    assert caught.value.body is not None and caught.value.body.get("param") == "n"  # type: ignore[union-attr]
