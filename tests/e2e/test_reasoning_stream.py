"""A streamed reasoning-mode request through a real gateway and a real (fake) LLM, read by the ``openai`` package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.app import vendor_env
from tests.support.images import size_of
from tests.support.markdown import image_links
from tests.support.processes import fake_vendor, gateway

pytestmark = pytest.mark.e2e
CLIENT_KEY = "e2e-reasoning-client-key-1234"


@pytest.fixture(scope="module")
def reasoning_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("reasoning")
    with fake_vendor() as vendor:
        env = {
            "AUTHORIZED_API_KEY": CLIENT_KEY,
            **vendor_env(1, "openai", f"{vendor}/openai", "pic", "good-key-000000000001"),
            "OPENAI_API_BASE": f"{vendor}/llm",
            "OPENAI_API_KEY": "dead-llm-key-0000001,good-llm-key-0000002",
            "OPENAI_MODEL_REASONING": "fake-thinker",
            "MEDIA_STORE": f"file://{workdir / 'media'}",
        }
        with gateway(env, cwd=workdir) as base:
            yield base


def test_reasoning_deltas_arrive_before_the_content_that_holds_the_image(reasoning_gateway: str) -> None:
    client = openai.OpenAI(base_url=f"{reasoning_gateway}/v1", api_key=CLIENT_KEY)
    stream = client.chat.completions.create(
        model="pic", stream=True, messages=[{"role": "user", "content": "a heron at dawn 16:9"}]
    )
    order: list[str] = []
    thinking: list[str] = []
    content: list[str] = []
    for chunk in stream:
        delta = chunk.choices[0].delta
        reasoning = getattr(delta, "reasoning_content", None) or (delta.model_extra or {}).get("reasoning_content")
        if reasoning:
            order.append("reasoning")
            thinking.append(reasoning)
        if delta.content:
            order.append("content")
            content.append(delta.content)
    assert order.count("reasoning") >= 4  # streamed piece by piece, not in one lump
    assert order.index("content") > max(i for i, kind in enumerate(order) if kind == "reasoning")
    progress, llm_thinking, prompt_line = "".join(thinking).splitlines()
    assert progress == "Making 1 picture with pic at 1024x576."  # the gateway's own progress comes first
    assert llm_thinking.startswith("The user wants a heron at dawn.")
    assert (
        prompt_line == "Prompt: a cinematic photograph of a heron at dawn, soft morning light, gentle mist, calm mood"
    )
    text = "".join(content)
    [url] = image_links(text)
    assert size_of(httpx.get(url, timeout=10).content) == (1024, 576)  # the size came from the user's words
    assert text.endswith("a cinematic photograph of a heron at dawn, soft morning light, gentle mist, calm mood")
