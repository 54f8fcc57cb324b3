"""Clients managed through the admin API: keys issued once and kept hashed, limits, rotation, revocation."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest
import sqlalchemy
from pytest_httpx import HTTPXMock
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.records.database import database_url as async_database_url
from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png

ADMIN = "sk-admin-00000000001"
ENV_KEY = "sk-env-carol-0000001"
URL = "https://o.example/v1/images/generations"
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)


@pytest.fixture
def settings(database_url: str) -> Any:
    env = vendor_env(1, "openai", "https://o.example/v1", "pic", "sk-o-000000000001") | {
        "IMAGE_GEN_COST_1": "0.04",
        "ADMIN_API_KEY": ADMIN,
        "AUTHORIZED_API_KEY": f"carol:{ENV_KEY}",
        "DATABASE_URL": database_url,
    }
    return make_settings(env)


@pytest.fixture(autouse=True)
def vendor(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json={"data": [{"b64_json": b64(png())}]}, is_reusable=True)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def generate(client: Any, key: str) -> Any:
    return await client.post("/v1/images/generations", json={"prompt": "a red fox", "model": "pic"}, headers=auth(key))


async def test_a_client_made_by_the_admin_uses_its_key_which_is_kept_only_hashed(settings: Any) -> None:
    async with app_client(settings) as client:
        made = await client.post(
            "/v1/admin/clients", json={"name": "dave", "limits": {"images_per_day": 5}}, headers=auth(ADMIN)
        )
        assert made.status_code == 201, made.text
        dave = made.json()
        key = dave["key"]
        drawn = await generate(client, key)
        for _ in range(50):  # the journal writes within a few tens of milliseconds
            mine = (await client.get("/v1/images", headers=auth(key))).json()["data"]
            if mine:
                break
            await asyncio.sleep(0.02)
        listed = (await client.get("/v1/admin/clients", headers=auth(ADMIN))).json()["data"]
        one = (await client.get(f"/v1/admin/clients/{dave['id']}", headers=auth(ADMIN))).json()
    assert key.startswith("sk-ig-") and len(key) > 40
    assert (dave["name"], dave["limits"], dave["revoked"]) == ("dave", {"images_per_day": 5}, False)
    assert drawn.status_code == 200
    assert drawn.json()["data"][0]["url"]
    assert [record["client"] for record in mine] == ["dave"]
    assert [c["name"] for c in listed] == ["dave"] and "key" not in listed[0] and "key" not in one
    assert listed[0]["key_hint"] == f"{key[:8]}…{key[-4:]}"
    engine = create_async_engine(async_database_url(settings))
    async with engine.connect() as connection:
        stored = (await connection.execute(sqlalchemy.text("SELECT * FROM clients"))).mappings().all()
    await engine.dispose()
    assert len(stored) == 1 and stored[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert all(key not in str(value) for value in stored[0].values())


async def test_only_the_admin_manages_clients(settings: Any) -> None:
    async with app_client(settings) as client:
        as_carol = await client.post("/v1/admin/clients", json={"name": "eve"}, headers=auth(ENV_KEY))
        listing = await client.get("/v1/admin/clients", headers=auth(ENV_KEY))
        anonymous = await client.get("/v1/admin/clients")
        unknown = await client.get("/v1/models", headers=auth("sk-ig-made-up-000000000000000"))
    assert as_carol.status_code == 403 and as_carol.json()["error"]["code"] == "forbidden"
    assert listing.status_code == 403 and anonymous.status_code == 401
    assert unknown.status_code == 401


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "carol"}, "name"),  # an AUTHORIZED_API_KEY name
        ({"name": "admin"}, "name"),
        ({"name": "9lives"}, "name"),
        ({"name": "sk-looks-like-a-key"}, "name"),
        ({"name": "dave", "limits": {"images_per_day": 0}}, "limits.images_per_day"),
        ({"name": "dave", "limits": {"per_hour": 3}}, "limits.per_hour"),
        ({"limits": {}}, "name"),
    ],
)
async def test_a_bad_client_is_refused_with_the_field_named(settings: Any, body: dict[str, Any], param: str) -> None:
    async with app_client(settings) as client:
        refused = await client.post("/v1/admin/clients", json=body, headers=auth(ADMIN))
        listed = (await client.get("/v1/admin/clients", headers=auth(ADMIN))).json()["data"]
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == param
    assert listed == []


async def test_limits_set_through_the_api_apply_and_can_be_changed(settings: Any) -> None:
    async with app_client(settings) as client:
        made = (
            await client.post(
                "/v1/admin/clients", json={"name": "dave", "limits": {"images_per_minute": 1}}, headers=auth(ADMIN)
            )
        ).json()
        first, second = await generate(client, made["key"]), await generate(client, made["key"])
        changed = await client.patch(
            f"/v1/admin/clients/{made['id']}", json={"limits": {"images_per_minute": 5}}, headers=auth(ADMIN)
        )
        third = await generate(client, made["key"])
        carol = [await generate(client, ENV_KEY) for _ in range(2)]  # other clients keep their own (no) limits
    assert (first.status_code, second.status_code, third.status_code) == (200, 429, 200)
    assert second.json()["error"]["param"] == "images_per_minute"
    assert changed.json()["limits"] == {"images_per_minute": 5}
    assert [reply.status_code for reply in carol] == [200, 200]


async def test_a_rotated_key_replaces_the_old_and_a_revoked_client_is_locked_out_for_good(settings: Any) -> None:
    async with app_client(settings) as client:
        made = (await client.post("/v1/admin/clients", json={"name": "dave"}, headers=auth(ADMIN))).json()
        rotated = (await client.post(f"/v1/admin/clients/{made['id']}/rotate", headers=auth(ADMIN))).json()
        old, new = await generate(client, made["key"]), await generate(client, rotated["key"])
        revoked = await client.delete(f"/v1/admin/clients/{made['id']}", headers=auth(ADMIN))
        after = await generate(client, rotated["key"])
        again = await client.post("/v1/admin/clients", json={"name": "dave"}, headers=auth(ADMIN))
        rotate_revoked = await client.post(f"/v1/admin/clients/{made['id']}/rotate", headers=auth(ADMIN))
        missing = await client.delete("/v1/admin/clients/cli_nothere", headers=auth(ADMIN))
    assert rotated["key"] != made["key"] and rotated["key_hint"] != made["key_hint"]
    assert (old.status_code, new.status_code) == (401, 200)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert after.status_code == 401
    assert again.status_code == 400 and "existed" in again.json()["error"]["message"]
    assert rotate_revoked.status_code == 400 and missing.status_code == 404


async def test_clients_and_their_keys_survive_a_restart(settings: Any) -> None:
    async with app_client(settings) as client:
        made = (
            await client.post(
                "/v1/admin/clients", json={"name": "dave", "limits": {"budget_per_day": 1.5}}, headers=auth(ADMIN)
            )
        ).json()
    async with app_client(settings) as client:
        drawn = await generate(client, made["key"])
        listed = (await client.get("/v1/admin/clients", headers=auth(ADMIN))).json()["data"]
    assert drawn.status_code == 200
    assert [(c["name"], c["limits"]) for c in listed] == [("dave", {"budget_per_day": 1.5})]


async def test_with_an_admin_key_every_request_needs_a_key(database_url: str) -> None:
    settings = make_settings({"ADMIN_API_KEY": ADMIN, "DATABASE_URL": database_url})
    async with app_client(settings) as client:
        anonymous = await client.post("/v1/images/generations", json={"prompt": "a red fox"})
        made = (await client.post("/v1/admin/clients", json={"name": "dave"}, headers=auth(ADMIN))).json()
        dave = await client.post("/v1/images/generations", json={"prompt": "a red fox"}, headers=auth(made["key"]))
    assert anonymous.status_code == 401
    assert dave.status_code == 200, dave.text
    assert json.loads(dave.text)["data"]
