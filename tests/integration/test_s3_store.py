"""Pictures in an S3-compatible bucket (a real moto server on loopback): stored once, served by any replica."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.app import app_client, make_settings
from tests.support.s3 import CREDENTIALS, S3Server, s3_server

PREFIX = "gateway/media"


@pytest.fixture(scope="module")
def bucket() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():  # read by the S3 client as every AWS tool reads them
        monkeypatch.setenv(name, value)


def settings(bucket: S3Server, **extra: str) -> Any:
    env = {"MEDIA_STORE": f"s3://{bucket.bucket}/{PREFIX}", "S3_ENDPOINT_URL": bucket.endpoint}
    return make_settings(env | extra)


async def made(client: Any) -> str:
    reply = await client.post("/v1/images/generations", json={"prompt": "a red fox in snow", "size": "256x256"})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"][0]["url"])


async def test_a_picture_is_written_to_the_bucket_and_served_with_the_usual_headers(bucket: S3Server) -> None:
    async with app_client(settings(bucket)) as client:
        link = await made(client)
        path = httpx.URL(link).path
        served = await client.get(path)
        ranged = await client.get(path, headers={"Range": "bytes=0-9"})
        again = await client.get(path, headers={"If-None-Match": served.headers["etag"]})
    name = path.rsplit("/", 1)[1]
    head = bucket.client().head_object(Bucket=bucket.bucket, Key=f"{PREFIX}/{name}")
    stored = bucket.objects(f"{PREFIX}/{name}")
    assert path.startswith("/image-proxy/") and list(stored) == [f"{PREFIX}/{name}"]
    assert served.status_code == 200 and served.content == stored[f"{PREFIX}/{name}"]
    assert served.headers["content-type"] == "image/png"
    assert (head["ContentType"], head["CacheControl"]) == ("image/png", "public, max-age=31536000, immutable")
    assert ranged.status_code == 206 and ranged.content == served.content[:10]
    assert again.status_code == 304


async def test_another_replica_serves_a_picture_it_did_not_make(bucket: S3Server) -> None:
    async with app_client(settings(bucket)) as first:
        path = httpx.URL(await made(first)).path
        original = (await first.get(path)).content
    async with app_client(settings(bucket)) as second:  # a fresh process: nothing in its memory
        served = await second.get(path)
    assert served.status_code == 200 and served.content == original


async def test_with_a_public_base_answers_link_straight_to_the_bucket(bucket: S3Server) -> None:
    public = f"{bucket.endpoint}/{bucket.bucket}/{PREFIX}"
    async with app_client(settings(bucket, MEDIA_PUBLIC_BASE_URL=public)) as client:
        link = await made(client)
        chat = await client.post(
            "/v1/chat/completions", json={"model": "demo", "messages": [{"role": "user", "content": "an owl"}]}
        )
    assert link.startswith(f"{public}/") and "/image-proxy/" not in link
    key = link.removeprefix(f"{bucket.endpoint}/{bucket.bucket}/")
    bucket.client().put_object_acl(Bucket=bucket.bucket, Key=key, ACL="public-read")  # as a public bucket would be
    async with httpx.AsyncClient(timeout=10) as outside:  # from the bucket itself, not through the gateway
        direct = await outside.get(link)
    assert direct.status_code == 200 and direct.content.startswith(b"\x89PNG")
    assert f"]({public}/" in chat.json()["choices"][0]["message"]["content"]


async def test_a_deleted_record_removes_its_picture_from_the_bucket(bucket: S3Server) -> None:
    async with app_client(settings(bucket)) as client:
        link = await made(client)
        name = httpx.URL(link).path.rsplit("/", 1)[1]
        for _ in range(50):
            records = (await client.get("/v1/images")).json()["data"]
            if records:
                break
            await asyncio.sleep(0.02)
        deleted = await client.delete(f"/v1/images/{records[0]['id']}")
        gone = await client.get(httpx.URL(link).path)
    assert deleted.status_code == 200
    assert f"{PREFIX}/{name}" not in bucket.objects(PREFIX)
    assert gone.status_code == 410


async def test_an_unreachable_bucket_is_a_503_not_a_crash() -> None:
    dead = make_settings({"MEDIA_STORE": "s3://pictures/x", "S3_ENDPOINT_URL": "http://127.0.0.1:9"})
    async with app_client(dead) as client:
        reply = await client.post("/v1/images/generations", json={"prompt": "a red fox", "size": "256x256"})
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "media_store_unavailable"
