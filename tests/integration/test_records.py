"""Every picture made becomes a record: listed per client, paged, deleted (410 on its link), summed into usage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.script import ScriptDirectory
from litestar.testing import AsyncTestClient
from pytest_httpx import HTTPXMock
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.records import open_database
from gateway.records.database import alembic_config, migrate
from gateway.records.database import database_url as async_database_url
from tests.support.app import GATEWAY, app_client, make_settings, vendor_env
from tests.support.images import b64, png

ALICE, BOB = "sk-alice-000000000001", "sk-bob-0000000000002"
ENV = vendor_env(1, "openai", "https://o.example/v1", "pic=gpt-image-1,cheap=dall-e-2", "sk-o-000000000001") | {
    "IMAGE_GEN_COST_1": "pic=0.04,cheap=0.02",
    "AUTHORIZED_API_KEY": f"{ALICE},{BOB}",
}
URL = "https://o.example/v1/images/generations"
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def vendor(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json={"data": [{"b64_json": b64(png(64, 64))}]}, is_reusable=True)
    httpx_mock.add_response(
        url="https://o.example/v1/images/edits", json={"data": [{"b64_json": b64(png(64, 64))}]}, is_reusable=True
    )


async def make(client: AsyncTestClient, key: str, prompt: str, model: str = "pic") -> dict[str, Any]:  # type: ignore[type-arg]
    reply = await client.post("/v1/images/generations", json={"prompt": prompt, "model": model}, headers=auth(key))
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def written(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    """Until the journal has written what it was given (it runs on the app's own loop, in another thread)."""
    journal = client.app.state.resources.journal
    for _ in range(250):
        if journal.idle:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the journal did not write within 5 s")


async def records(client: AsyncTestClient, key: str, **query: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    await written(client)
    reply = await client.get("/v1/images", params=query, headers=auth(key))
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_a_picture_becomes_a_record_its_client_can_read(vendor: None, database_url: str) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        made = await make(client, ALICE, "a red fox in the snow")
        [record] = (await records(client, ALICE))["data"]
        one = (await client.get(f"/v1/images/{record['id']}", headers=auth(ALICE))).json()
    assert record == one
    assert record["id"].startswith("img_") and record["object"] == "image"
    assert record["url"] == made["data"][0]["url"] and record["url"].startswith(f"{GATEWAY}/image-proxy/")
    assert (record["model"], record["route"], record["endpoint"]) == ("pic", "group1:gpt-image-1", "images.generations")
    assert (record["idea"], record["prompt"], record["width"], record["height"]) == (
        "a red fox in the snow",
        "a red fox in the snow",
        1024,
        1024,
    )
    assert record["cost"] == 0.04 and record["attempts"] == 1 and record["latency_ms"] >= 0


async def test_each_client_sees_only_its_own(vendor: None, database_url: str) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        await make(client, ALICE, "a fox")
        await make(client, BOB, "an owl")
        alice, bob = await records(client, ALICE), await records(client, BOB)
        other = await client.get(f"/v1/images/{bob['data'][0]['id']}", headers=auth(ALICE))
    assert [r["idea"] for r in alice["data"]] == ["a fox"]
    assert [r["idea"] for r in bob["data"]] == ["an owl"]
    assert other.status_code == 404


async def test_records_are_paged_newest_first_and_filtered_by_model(vendor: None, database_url: str) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        for index in range(5):
            await make(client, ALICE, f"picture {index}", model="cheap" if index == 2 else "pic")
        first = await records(client, ALICE, limit=2)
        second = await records(client, ALICE, limit=2, cursor=first["next_cursor"])
        third = await records(client, ALICE, limit=2, cursor=second["next_cursor"])
        cheap = await records(client, ALICE, model="cheap")
        bad = await client.get("/v1/images", params={"cursor": "nonsense!"}, headers=auth(ALICE))
    ideas = [r["idea"] for page in (first, second, third) for r in page["data"]]
    assert ideas == [f"picture {index}" for index in (4, 3, 2, 1, 0)]
    assert first["has_more"] and second["has_more"] and not third["has_more"] and third["next_cursor"] is None
    assert [r["idea"] for r in cheap["data"]] == ["picture 2"]
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"


async def test_deleting_a_record_removes_the_file_and_its_link_answers_410(vendor: None, database_url: str) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        made = await make(client, ALICE, "a fox")
        [record] = (await records(client, ALICE))["data"]
        link = made["data"][0]["url"].removeprefix(GATEWAY)
        assert (await client.get(link)).status_code == 200
        deleted = await client.delete(f"/v1/images/{record['id']}", headers=auth(ALICE))
        gone = await client.get(link)
        again = await client.get(f"/v1/images/{record['id']}", headers=auth(ALICE))
        listed = await records(client, ALICE)
        costs = (await client.get("/v1/usage", headers=auth(ALICE))).json()
    assert deleted.status_code == 200 and deleted.json() == {"id": record["id"], "deleted": True, "object": "image"}
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "deleted"
    assert again.status_code == 404 and listed["data"] == []
    assert costs["total_images"] == 0


async def test_usage_totals_and_groups_follow_the_prices(vendor: None, database_url: str) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        for model in ("pic", "pic", "cheap"):
            await make(client, ALICE, "a fox", model=model)
        await make(client, BOB, "an owl")
        await written(client)
        total = (await client.get("/v1/usage", headers=auth(ALICE))).json()
        by_model = (await client.get("/v1/usage", params={"group_by": "model"}, headers=auth(ALICE))).json()
        by_day = (await client.get("/v1/usage", params={"group_by": "day"}, headers=auth(ALICE))).json()
        seed_shape = (await client.get("/api/analytics/costs", headers=auth(ALICE))).json()
        unauthenticated = await client.get("/api/analytics/costs")
        bad = await client.get("/v1/usage", params={"group_by": "colour"}, headers=auth(ALICE))
    assert (total["total_images"], total["total_cost"], total["average_cost"]) == (3, 0.1, round(0.1 / 3, 6))
    assert {g["key"]: (g["images"], g["cost"]) for g in by_model["groups"]} == {"cheap": (1, 0.02), "pic": (2, 0.08)}
    assert len(by_day["groups"]) == 1 and len(by_day["groups"][0]["key"]) == 10
    assert {k: seed_shape[k] for k in ("total_cost", "total_images", "average_cost")} == {
        "total_cost": 0.1,
        "total_images": 3,
        "average_cost": round(0.1 / 3, 6),
    }
    assert unauthenticated.status_code == 401 and bad.status_code == 400


async def test_chat_and_edits_are_recorded_with_their_endpoint_and_input(vendor: None, database_url: str) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        chat = {"model": "pic", "messages": [{"role": "user", "content": "a kite 16:9"}]}
        assert (await client.post("/v1/chat/completions", json=chat, headers=auth(ALICE))).status_code == 200
        edit = {"model": "pic", "prompt": "at night", "image": b64(png(64, 64))}
        assert (await client.post("/v1/images/edits", json=edit, headers=auth(ALICE))).status_code == 200
        listed = (await records(client, ALICE))["data"]
    edited, drawn = listed
    assert (drawn["endpoint"], drawn["idea"], drawn["width"], drawn["height"]) == (
        "chat.completions",
        "a kite",
        1024,
        576,
    )
    assert drawn["seed"] is None  # an OpenAI-type vendor is never sent a seed of the gateway's own
    assert edited["endpoint"] == "images.edits" and edited["input_image"] and edited["input_image"].endswith(".png")


async def test_migrations_build_the_schema_from_an_empty_database_and_can_be_replayed(
    tmp_path: Path, database_url: str
) -> None:
    url = database_url
    database = await open_database(make_settings({"DATABASE_URL": url}))
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: sqlalchemy.inspect(sync).get_table_names())
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))  # down to empty…
        emptied = await connection.run_sync(lambda sync: sqlalchemy.inspect(sync).get_table_names())
        await connection.run_sync(migrate)  # …and up again
        rebuilt = await connection.run_sync(lambda sync: sqlalchemy.inspect(sync).get_table_names())
        revisions = await connection.run_sync(
            lambda sync: [r.revision for r in ScriptDirectory.from_config(alembic_config(sync)).walk_revisions()]
        )
        for earlier in revisions[1:]:  # from each earlier revision (newest first) to the newest
            await connection.run_sync(lambda sync, to=earlier: command.downgrade(alembic_config(sync), to))
            await connection.run_sync(migrate)
        columns = await connection.run_sync(lambda sync: sqlalchemy.inspect(sync).get_columns("images"))
        await connection.commit()
    await database.close()
    reopened = await open_database(make_settings({"DATABASE_URL": database_url}))  # a start on an up-to-date database
    await reopened.close()
    assert {"images", "templates", "batches", "batch_items", "alembic_version"} <= set(tables)
    assert revisions[-1] == "0001" and len(revisions) >= 5
    assert "images" not in emptied and "images" in rebuilt
    seed = next(column for column in columns if column["name"] == "seed")
    assert isinstance(seed["type"], sqlalchemy.BigInteger)


async def test_a_failing_write_does_not_hold_the_answer_and_is_retried(vendor: None, database_url: str) -> None:
    settings = make_settings(ENV | {"DATABASE_URL": database_url})
    outside = create_async_engine(async_database_url(settings))  # another connection, as an operator's would be

    async def rename(old: str, new: str) -> None:
        async with outside.begin() as connection:
            await connection.execute(sqlalchemy.text(f"ALTER TABLE {old} RENAME TO {new}"))

    async with app_client(settings) as client:
        await rename("images", "images_away")
        made = await make(client, ALICE, "a fox")  # answered although the write fails
        assert made["data"][0]["url"]
        await asyncio.sleep(0.2)
        await rename("images_away", "images")
        listed = await records(client, ALICE)
    await outside.dispose()
    assert [r["idea"] for r in listed["data"]] == ["a fox"]


async def test_named_clients_keep_their_own_records_and_the_admin_sees_all(vendor: None, database_url: str) -> None:
    env = ENV | {"AUTHORIZED_API_KEY": f"alice:{ALICE},bob:{BOB}", "ADMIN_API_KEY": "sk-admin-0000000000001"}
    env |= {"DATABASE_URL": database_url}
    admin = "sk-admin-0000000000001"
    async with app_client(make_settings(env)) as client:
        await make(client, ALICE, "a fox")
        await make(client, BOB, "an owl", model="cheap")
        alice, everyone = await records(client, ALICE), await records(client, admin)
        bob_record = (await records(client, BOB))["data"][0]
        seen_by_admin = await client.get(f"/v1/images/{bob_record['id']}", headers=auth(admin))
        by_client = (await client.get("/v1/usage", params={"group_by": "client"}, headers=auth(admin))).json()
    assert [(r["client"], r["idea"]) for r in alice["data"]] == [("alice", "a fox")]
    assert {(r["client"], r["idea"]) for r in everyone["data"]} == {("alice", "a fox"), ("bob", "an owl")}
    assert seen_by_admin.status_code == 200
    assert {g["key"]: g["cost"] for g in by_client["groups"]} == {"alice": 0.04, "bob": 0.02}


async def test_the_widest_client_seed_is_kept(httpx_mock: HTTPXMock, database_url: str) -> None:
    env = vendor_env(1, "siliconflow", "https://sf.example/v1/images/generations", "pic", "k") | {
        "DATABASE_URL": database_url,
        "AUTHORIZED_API_KEY": ALICE,
    }
    httpx_mock.add_response(
        url="https://sf.example/v1/images/generations", json={"images": [{"url": "https://cdn.example/x.png"}]}
    )
    httpx_mock.add_response(url="https://cdn.example/x.png", content=png(64, 64))
    async with app_client(make_settings(env)) as client:
        body = {"prompt": "a fox", "model": "pic", "seed": 2**32 - 1}
        assert (await client.post("/v1/images/generations", json=body, headers=auth(ALICE))).status_code == 200
        [record] = (await records(client, ALICE))["data"]
    assert record["seed"] == 2**32 - 1


async def test_a_vendors_token_usage_is_priced_recorded_and_answered(httpx_mock: HTTPXMock, database_url: str) -> None:
    env = vendor_env(1, "openai", "https://t.example/v1", "pic=gpt-image-1", "sk-t-000000000001") | {
        "IMAGE_GEN_COST_1": "0.04",
        "IMAGE_GEN_TOKEN_PRICE_1": "input=5,output=40",
        "AUTHORIZED_API_KEY": ALICE,
        "DATABASE_URL": database_url,
    }
    usage = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    httpx_mock.add_response(
        url="https://t.example/v1/images/generations", json={"data": [{"b64_json": b64(png())}], "usage": usage}
    )
    async with app_client(make_settings(env)) as client:
        reply = await client.post(
            "/v1/images/generations", json={"prompt": "a fox", "model": "pic"}, headers=auth(ALICE)
        )
        [record] = (await records(client, ALICE))["data"]
        spent = (await client.get("/v1/usage", headers=auth(ALICE))).json()
    assert reply.json()["usage"] == {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    cost = (50 * 5 + 4160 * 40) / 1_000_000
    assert (record["input_tokens"], record["output_tokens"], record["cost"]) == (50, 4160, pytest.approx(cost))
    assert spent["total_cost"] == pytest.approx(cost)


async def test_without_usage_the_price_per_image_applies_and_the_answer_has_no_usage(
    vendor: None, database_url: str
) -> None:
    async with app_client(make_settings(ENV | {"DATABASE_URL": database_url})) as client:
        reply = await make(client, ALICE, "a fox")
        [record] = (await records(client, ALICE))["data"]
    assert "usage" not in reply and record["cost"] == 0.04 and record["input_tokens"] is None


async def test_with_keep_records_off_pictures_are_made_and_nothing_is_written(vendor: None) -> None:
    settings = make_settings(ENV | {"KEEP_RECORDS": "false", "AUTHORIZED_API_KEY": f"alice:{ALICE}"})
    async with app_client(settings) as client:
        made = await make(client, ALICE, "a fox")
        await asyncio.sleep(0.2)  # longer than the journal's gathering
        listed = await records(client, ALICE)
        usage = (await client.get("/v1/usage", headers={"Authorization": f"Bearer {ALICE}"})).json()
    assert made["data"][0]["url"]
    assert listed["data"] == [] and usage["total_images"] == 0
