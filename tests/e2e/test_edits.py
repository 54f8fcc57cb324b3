"""Edits and variations through the real gateway process with the real ``openai`` package and the demo vendor."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from tests.support.images import size_of
from tests.support.processes import gateway

pytestmark = pytest.mark.e2e
CLIENT_KEY = "e2e-client-key-123456"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    workdir = tmp_path_factory.mktemp("edits")
    with gateway({"AUTHORIZED_API_KEY": CLIENT_KEY}, cwd=workdir) as base:
        yield openai.OpenAI(base_url=f"{base}/v1", api_key=CLIENT_KEY)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", (512, 512), (30, 140, 60)).save(path)
    return path


def decoded(b64_json: str | None) -> bytes:
    assert b64_json
    return base64.b64decode(b64_json)


def share_of_main_color(data: bytes) -> float:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20) or []
    return max(count for count, _ in colors) / (image.width * image.height)


def test_an_edit_changes_the_given_picture_and_differs_from_a_fresh_one(client: openai.OpenAI, photo: Path) -> None:
    with photo.open("rb") as image:
        edited = client.images.edit(
            model="demo", image=image, prompt="make it a watercolor", response_format="b64_json"
        )
    fresh = client.images.generate(
        model="demo", prompt="make it a watercolor", size="512x512", response_format="b64_json"
    )
    picture = decoded(edited.data[0].b64_json)
    assert size_of(picture) == (512, 512)  # the input's size
    assert picture != decoded(fresh.data[0].b64_json)
    assert share_of_main_color(picture) > 0.5  # a flat green square stays mostly one colour
    assert share_of_main_color(decoded(fresh.data[0].b64_json)) < 0.5  # a fresh picture is a gradient with shapes


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks create_variation deprecated; clients call it
def test_a_variation_comes_back_as_a_url_the_client_can_fetch(client: openai.OpenAI, photo: Path) -> None:
    with photo.open("rb") as image:
        varied = client.images.create_variation(model="demo", image=image, n=2, size="256x256")
    links = [item.url for item in varied.data]
    assert len(links) == 2 and all(link and "/image-proxy/" in link for link in links)
    sizes = {size_of(httpx.get(link, timeout=10).content) for link in links if link}
    assert sizes == {(256, 256)}
