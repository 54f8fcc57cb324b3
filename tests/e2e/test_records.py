"""Two named clients through the real gateway with the real ``openai`` package: own records, usage at the prices."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.processes import fake_vendor, gateway

pytestmark = pytest.mark.e2e
ALICE, BOB = "sk-alice-e2e-000000001", "sk-bob-e2e-0000000002"
ADMIN = "sk-admin-e2e-00000003"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("records")
    with fake_vendor() as vendor:
        env = {
            "AUTHORIZED_API_KEY": f"alice:{ALICE},bob:{BOB}",
            "ADMIN_API_KEY": ADMIN,
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic=fake-image-1,hd=fake-image-hd",
            "IMAGE_GEN_API_KEY_1": "good-key-000000000001",
            "IMAGE_GEN_COST_1": "pic=0.04,hd=0.25",
        }
        with gateway(env, cwd=workdir) as url:
            yield url


def own_records(client: openai.OpenAI) -> list[dict[str, Any]]:
    listing: dict[str, Any] = client.get("/images", cast_to=dict[str, Any])
    return list(listing["data"])


def test_each_named_client_sees_its_own_records_and_usage_at_the_prices(base: str) -> None:
    alice = openai.OpenAI(base_url=f"{base}/v1", api_key=ALICE)
    bob = openai.OpenAI(base_url=f"{base}/v1", api_key=BOB)
    alice.images.generate(model="pic", prompt="a red fox", n=2, size="512x512")
    alice.chat.completions.create(model="hd", messages=[{"role": "user", "content": "a lighthouse 16:9"}])
    bob.images.generate(model="hd", prompt="an owl at dusk")

    for _ in range(100):  # the journal writes within a few tens of milliseconds
        if len(own_records(alice)) == 3 and len(own_records(bob)) == 1:
            break
        time.sleep(0.05)
    mine, theirs = own_records(alice), own_records(bob)
    assert {(r["client"], r["model"], r["endpoint"]) for r in mine} == {
        ("alice", "pic", "images.generations"),
        ("alice", "hd", "chat.completions"),
    }
    assert len(mine) == 3 and [r["idea"] for r in theirs] == ["an owl at dusk"]
    usage: dict[str, Any] = alice.get("/usage", cast_to=dict[str, Any])
    assert (usage["total_images"], usage["total_cost"]) == (3, round(2 * 0.04 + 0.25, 6))
    bob_usage: dict[str, Any] = bob.get("/usage", cast_to=dict[str, Any])
    assert (bob_usage["total_images"], bob_usage["total_cost"]) == (1, 0.25)
    other = bob.with_options(max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.get(f"/images/{mine[0]['id']}", cast_to=dict[str, Any])


def test_a_client_made_through_the_admin_api_works_with_the_openai_package(base: str) -> None:
    admin = openai.OpenAI(base_url=f"{base}/v1", api_key=ADMIN)
    made: dict[str, Any] = admin.post(
        "/admin/clients", body={"name": "carol", "limits": {"images_per_minute": 2}}, cast_to=dict[str, Any]
    )
    carol = openai.OpenAI(base_url=f"{base}/v1", api_key=made["key"], max_retries=0)
    carol.images.generate(model="pic", prompt="a heron in reeds", n=2, size="512x512")
    with pytest.raises(openai.RateLimitError) as limited:
        carol.images.generate(model="pic", prompt="a heron in reeds")
    for _ in range(100):
        if len(own_records(carol)) == 2:
            break
        time.sleep(0.05)
    assert {(r["client"], r["idea"]) for r in own_records(carol)} == {("carol", "a heron in reeds")}
    assert limited.value.body["param"] == "images_per_minute"  # type: ignore[index]
    admin.delete(f"/admin/clients/{made['id']}", cast_to=dict[str, Any])
    with pytest.raises(openai.AuthenticationError):
        carol.models.list()
