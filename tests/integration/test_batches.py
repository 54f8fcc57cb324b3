"""Batches: prompts checked at once, made in the background under routing and limits, each kept as a record."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png

ALICE, BOB, ADMIN = "sk-alice-000000000001", "sk-bob-0000000000002", "sk-admin-00000000003"
URL = "https://o.example/v1/images/generations"
HOOK = "http://127.0.0.1:9/hooks/batches"
SECRET = "whsec-test-0000000000001"
BASE = vendor_env(1, "openai", "https://o.example/v1", "pic", "sk-o-000000000001") | {
    "IMAGE_GEN_COST_1": "0.04",
    "AUTHORIZED_API_KEY": f"alice:{ALICE},bob:{BOB}",
    "ADMIN_API_KEY": ADMIN,
    "WEBHOOK_SECRET": SECRET,
    "WEBHOOK_BACKOFF_SECONDS": "0",
    "MEDIA_ALLOW_PRIVATE_NETWORKS": "true",
}
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)
Client = AsyncTestClient  # type: ignore[type-arg]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def settings(database_url: str, **extra: str) -> Any:
    return make_settings(BASE | {"DATABASE_URL": database_url} | extra)


def answer_each_prompt(httpx_mock: HTTPXMock, *, refuse: str | None = None, delay: float = 0.0) -> None:
    """The vendor draws every prompt; the one containing ``refuse`` is refused by its content policy."""

    async def draw(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(delay)
        if refuse and refuse in json.loads(request.content)["prompt"]:
            error = {"message": "Your request was rejected by the safety system.", "code": "content_policy_violation"}
            return httpx.Response(400, json={"error": error})
        return httpx.Response(200, json={"data": [{"b64_json": b64(png())}]})

    httpx_mock.add_callback(draw, url=URL, is_reusable=True)


async def ended(client: Client, batch_id: str, key: str = ALICE) -> dict[str, Any]:
    for _ in range(200):
        shown = (await client.get(f"/v1/images/batches/{batch_id}", headers=auth(key))).json()
        if shown["status"] != "in_progress" and shown.get("webhook_status") != "pending":
            return dict(shown)
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not end: {shown}")


async def test_a_batch_is_answered_at_once_and_each_prompt_becomes_a_record(
    httpx_mock: HTTPXMock, database_url: str
) -> None:
    answer_each_prompt(httpx_mock)
    prompts = ["a red fox in snow", "an owl at dusk", "a lighthouse on a cliff"]
    async with app_client(settings(database_url)) as client:
        created = await client.post(
            "/v1/images/batches", json={"prompts": prompts, "model": "pic", "size": "512x512"}, headers=auth(ALICE)
        )
        assert created.status_code == 202, created.text
        batch = created.json()
        assert batch["id"].startswith("batch_") and batch["object"] == "image.batch"
        assert batch["request_counts"]["total"] == 3 and [i["prompt"] for i in batch["items"]] == prompts
        done = await ended(client, batch["id"])
        records = (await client.get("/v1/images", headers=auth(ALICE))).json()["data"]
        usage = (await client.get("/v1/usage", headers=auth(ALICE))).json()
    assert done["status"] == "completed" and done["finished_at"] is not None
    assert done["request_counts"] == {"total": 3, "completed": 3, "failed": 0, "cancelled": 0}
    assert [item["status"] for item in done["items"]] == ["done"] * 3
    made = [item["images"][0] for item in done["items"]]
    assert [image["idea"] for image in made] == prompts
    assert {(image["endpoint"], image["model"], image["client"], image["cost"]) for image in made} == {
        ("images.batches", "pic", "alice", 0.04)
    }
    assert all(image["url"].startswith("http://testserver.local/image-proxy/") for image in made)
    assert sorted(record["id"] for record in records) == sorted(image["id"] for image in made)
    assert (usage["total_images"], usage["total_cost"]) == (3, 0.12)
    sent = sorted(json.loads(request.content)["prompt"] for request in httpx_mock.get_requests(url=URL))
    assert sent == sorted(prompts)
    assert {json.loads(request.content)["size"] for request in httpx_mock.get_requests(url=URL)} == {"512x512"}


async def test_a_refused_prompt_fails_alone_and_the_batch_goes_on(httpx_mock: HTTPXMock, database_url: str) -> None:
    answer_each_prompt(httpx_mock, refuse="forbidden")
    prompts = ["a red fox", "something forbidden here", "an owl at dusk"]
    async with app_client(settings(database_url)) as client:
        created = await client.post("/v1/images/batches", json={"prompts": prompts}, headers=auth(ALICE))
        done = await ended(client, created.json()["id"])
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1, "cancelled": 0}
    failed = done["items"][1]
    assert failed["status"] == "failed" and failed["images"] == []
    assert "safety system" in failed["error"]


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"prompts": []}, "prompts", "at least one prompt"),
        ({"prompts": "a fox"}, "prompts", "Expected `array`"),
        ({"prompts": ["a red fox", "ox"]}, "prompts[1]", "prompts[1]: prompt must be at least 3 characters"),
        ({"prompts": ["a fox"] * 4}, "prompts", "at most 3 prompts"),
        ({"prompts": ["a fox"], "size": "banana"}, "size", "size"),
        ({"prompts": ["a fox"], "response_format": "b64_json"}, "response_format", "links"),
        ({"prompts": ["a fox"], "webhook_url": "ftp://files.example/x"}, "webhook_url", "http or https"),
        ({"prompts": ["a fox"], "webhook_url": "not a url at all"}, "webhook_url", "webhook_url"),
    ],
)
async def test_a_bad_batch_is_refused_whole_before_anything_is_made(
    httpx_mock: HTTPXMock, body: dict[str, Any], param: str, message: str
) -> None:
    async with app_client(settings("sqlite:///:memory:", BATCH_MAX_PROMPTS="3")) as client:
        refused = await client.post("/v1/images/batches", json=body, headers=auth(ALICE))
        listed = (await client.get("/v1/images/batches", headers=auth(ALICE))).json()["data"]
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert message in error["message"]
    assert listed == [] and httpx_mock.get_requests() == []


async def test_an_unknown_model_is_a_404_and_a_private_webhook_is_refused(httpx_mock: HTTPXMock) -> None:
    guarded = make_settings(BASE | {"MEDIA_ALLOW_PRIVATE_NETWORKS": "false"})
    async with app_client(guarded) as client:
        unknown = await client.post(
            "/v1/images/batches", json={"prompts": ["a fox"], "model": "nope"}, headers=auth(ALICE)
        )
        private = await client.post(
            "/v1/images/batches", json={"prompts": ["a fox"], "webhook_url": HOOK}, headers=auth(ALICE)
        )
        metadata = await client.post(
            "/v1/images/batches",
            json={"prompts": ["a fox"], "webhook_url": "http://169.254.169.254/latest/meta-data"},
            headers=auth(ALICE),
        )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "model_not_found")
    for refused in (private, metadata):
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "webhook_url"
        assert "refused" in refused.json()["error"]["message"]
    assert httpx_mock.get_requests() == []


async def test_the_webhook_gets_one_signed_post_retried_until_taken(httpx_mock: HTTPXMock, database_url: str) -> None:
    answer_each_prompt(httpx_mock)
    httpx_mock.add_response(url=HOOK, status_code=503)
    httpx_mock.add_response(url=HOOK, status_code=204)
    async with app_client(settings(database_url)) as client:
        created = await client.post(
            "/v1/images/batches", json={"prompts": ["a fox", "an owl"], "webhook_url": HOOK}, headers=auth(ALICE)
        )
        assert created.json()["webhook_status"] == "pending"
        done = await ended(client, created.json()["id"])
    calls = httpx_mock.get_requests(url=HOOK)
    assert len(calls) == 2 and done["webhook_status"] == "delivered"
    delivered = calls[-1]
    stamp, _, digest = delivered.headers["x-imagegate-signature"].partition(",v1=")
    timestamp = stamp.removeprefix("t=")
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + delivered.content, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, expected)
    assert delivered.headers["x-imagegate-event"] == "batch.completed"
    sent = json.loads(delivered.content)
    assert (sent["id"], sent["status"], sent["request_counts"]["completed"]) == (created.json()["id"], "completed", 2)
    assert [len(item["images"]) for item in sent["items"]] == [1, 1]


async def test_a_webhook_that_never_takes_it_is_given_up_after_the_attempts(
    httpx_mock: HTTPXMock, database_url: str
) -> None:
    answer_each_prompt(httpx_mock)
    httpx_mock.add_response(url=HOOK, status_code=500, is_reusable=True)
    async with app_client(settings(database_url, WEBHOOK_ATTEMPTS="3")) as client:
        created = await client.post(
            "/v1/images/batches", json={"prompts": ["a fox"], "webhook_url": HOOK}, headers=auth(ALICE)
        )
        done = await ended(client, created.json()["id"])
    assert done["webhook_status"] == "failed"
    assert len(httpx_mock.get_requests(url=HOOK)) == 3


async def test_limits_apply_to_every_prompt_and_a_client_at_its_limit_hears_it_at_once(
    httpx_mock: HTTPXMock, database_url: str
) -> None:
    answer_each_prompt(httpx_mock)
    limits = json.dumps({"alice": {"images_per_day": 2}})
    async with app_client(settings(database_url, CLIENT_LIMITS=limits)) as client:
        created = await client.post(
            "/v1/images/batches", json={"prompts": ["a fox", "an owl", "a hare"]}, headers=auth(ALICE)
        )
        done = await ended(client, created.json()["id"])
        again = await client.post("/v1/images/batches", json={"prompts": ["a fox"]}, headers=auth(ALICE))
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1, "cancelled": 0}
    assert "2 images per day" in done["items"][2]["error"]
    assert len(httpx_mock.get_requests(url=URL)) == 2
    assert again.status_code == 429 and again.json()["error"]["param"] == "images_per_day"


async def test_a_client_sees_its_own_batches_and_the_admin_sees_all(httpx_mock: HTTPXMock, database_url: str) -> None:
    answer_each_prompt(httpx_mock)
    async with app_client(settings(database_url)) as client:
        created = await client.post("/v1/images/batches", json={"prompts": ["a fox"]}, headers=auth(ALICE))
        batch_id = created.json()["id"]
        await ended(client, batch_id)
        theirs = await client.get(f"/v1/images/batches/{batch_id}", headers=auth(BOB))
        cancel = await client.post(f"/v1/images/batches/{batch_id}/cancel", headers=auth(BOB))
        bob_list = (await client.get("/v1/images/batches", headers=auth(BOB))).json()["data"]
        admin_list = (await client.get("/v1/images/batches", headers=auth(ADMIN))).json()["data"]
        admin_view = await client.get(f"/v1/images/batches/{batch_id}", headers=auth(ADMIN))
    assert theirs.status_code == 404 and cancel.status_code == 404
    assert bob_list == [] and [batch["id"] for batch in admin_list] == [batch_id]
    assert admin_list[0]["items"] is None and admin_list[0]["request_counts"]["completed"] == 1
    assert admin_view.status_code == 200


async def test_cancelling_drops_the_queued_prompts_and_keeps_what_was_made(
    httpx_mock: HTTPXMock, database_url: str
) -> None:
    answer_each_prompt(httpx_mock, delay=0.3)
    prompts = [f"a fox number {i}" for i in range(6)]
    async with app_client(settings(database_url, BATCH_CONCURRENCY="1")) as client:
        created = await client.post("/v1/images/batches", json={"prompts": prompts}, headers=auth(ALICE))
        batch_id = created.json()["id"]
        await asyncio.sleep(0.1)
        cancelled = await client.post(f"/v1/images/batches/{batch_id}/cancel", headers=auth(ALICE))
        done = await ended(client, batch_id)
        await asyncio.sleep(0.4)  # the prompt in flight finishes and is kept
        after = (await client.get(f"/v1/images/batches/{batch_id}", headers=auth(ALICE))).json()
        again = await client.post(f"/v1/images/batches/{batch_id}/cancel", headers=auth(ALICE))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert done["status"] == "cancelled"
    counts = after["request_counts"]
    assert counts["completed"] == 1 and counts["cancelled"] == 5, counts
    assert after["items"][0]["status"] == "done" and len(after["items"][0]["images"]) == 1
    assert len(httpx_mock.get_requests(url=URL)) == 1
    assert again.status_code == 400 and "ended already" in again.json()["error"]["message"]
