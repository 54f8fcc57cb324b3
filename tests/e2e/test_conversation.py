"""A three-turn conversation through the real gateway process with the real ``openai`` package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.support.markdown import image_alts, image_links, image_titles
from tests.support.processes import fake_vendor, gateway

pytestmark = pytest.mark.e2e
CLIENT_KEY = "e2e-client-key-123456"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The gateway in front of a Workers AI-type fake vendor (it takes seeds); yields both base URLs."""
    workdir: Path = tmp_path_factory.mktemp("conversation")
    with fake_vendor() as vendor:
        env = {
            "AUTHORIZED_API_KEY": CLIENT_KEY,
            "IMAGE_GEN_TYPE_1": "cloudflare",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/cloudflare",
            "IMAGE_GEN_MODEL_1": "pic=sdxl",
            "IMAGE_GEN_API_KEY_1": "good-key-000000000001",
            "MEDIA_STORE": f"file://{workdir / 'media'}",
        }
        with gateway(env, cwd=workdir) as base:
            yield base, vendor


def vendor_requests(vendor: str) -> list[dict[str, Any]]:
    return [entry["body"] for entry in httpx.get(f"{vendor}/received", timeout=5).json()]


def test_picture_refinement_and_new_subject_each_send_the_vendor_the_right_prompt(served: tuple[str, str]) -> None:
    base, vendor = served
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=CLIENT_KEY)
    messages: list[dict[str, str]] = []

    def turn(text: str) -> str:
        messages.append({"role": "user", "content": text})
        completion = client.chat.completions.create(model="pic", messages=messages)  # type: ignore[arg-type]
        content = completion.choices[0].message.content or ""
        messages.append({"role": "assistant", "content": content})
        return content

    first = turn("a red fox in the snow 16:9")
    second = turn("make it a watercolor painting")
    third = turn("A lighthouse on a rocky cliff above stormy seas")

    fox, watercolor, lighthouse = vendor_requests(vendor)
    assert (fox["prompt"], fox["width"], fox["height"]) == ("a red fox in the snow", 1024, 576)
    assert watercolor["prompt"] == "a red fox in the snow, a watercolor painting"
    assert (watercolor["width"], watercolor["height"], watercolor["seed"]) == (1024, 576, fox["seed"])
    assert lighthouse["prompt"] == "A lighthouse on a rocky cliff above stormy seas"
    assert (lighthouse["width"], lighthouse["height"]) == (1024, 1024) and lighthouse["seed"] != fox["seed"]

    assert image_alts(second) == ["a red fox in the snow, a watercolor painting"]
    assert image_titles(first) == [f"1024x576, seed {fox['seed']}"]
    for content in (first, second, third):
        [link] = image_links(content)
        assert httpx.get(link, timeout=10).status_code == 200
