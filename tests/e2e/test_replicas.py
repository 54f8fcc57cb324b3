"""Three gateway replicas behind nginx, sharing Redis and an S3-compatible bucket, all real servers on loopback.

What one replica learns of a key the others act on at once; keys are used evenly; a picture made by one
replica is served by another; Redis dying in the middle costs no request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.nginx import nginx
from tests.support.processes import fake_vendor, gateway_server
from tests.support.redis import RedisServer
from tests.support.s3 import CREDENTIALS, S3Server, s3_server

pytestmark = pytest.mark.e2e
CLIENT = "sk-client-replicas-001"
KEYS = ["good-key-000000000001", "busy-key-00000000002", "good-key-000000000003", "dead-key-00000000004"]
BODY = {"prompt": "a red fox in snow", "model": "pic", "size": "256x256"}


@pytest.fixture(scope="module")
def bucket() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def keys_used(vendor: str) -> Counter[str]:
    return Counter(entry["key"] for entry in httpx.get(f"{vendor}/received", timeout=5).json())


def generate(client: httpx.Client, base: str) -> httpx.Response:
    return client.post(f"{base}/v1/images/generations", json=BODY)


def test_three_replicas_agree_on_keys_share_pictures_and_survive_redis_dying(
    tmp_path: Path, redis: RedisServer, bucket: S3Server
) -> None:
    with fake_vendor() as vendor, ExitStack() as stack:
        env = CREDENTIALS | {
            "AUTHORIZED_API_KEY": CLIENT,
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic=fake-image-1",
            "IMAGE_GEN_API_KEY_1": ",".join(KEYS),
            "REDIS_URL": redis.url,
            "MEDIA_STORE": f"s3://{bucket.bucket}/replicas",
            "S3_ENDPOINT_URL": bucket.endpoint,
            "IMAGE_PROXY_SECRET": "shared-by-every-replica",
        }
        replicas = []
        for number in range(3):
            workdir = tmp_path / f"replica{number + 1}"
            workdir.mkdir()
            replicas.append(stack.enter_context(gateway_server(env, cwd=workdir)).url)
        servers = "\n".join(f"        server {url.removeprefix('http://')};" for url in replicas)
        upstream = f"    upstream imagegate {{\n{servers}\n    }}"
        location = "        location / { proxy_pass http://imagegate; proxy_set_header Host $http_host; }"
        balancer = stack.enter_context(nginx(location, tmp_path / "nginx", upstreams=upstream))
        client = stack.enter_context(httpx.Client(headers={"Authorization": f"Bearer {CLIENT}"}, timeout=30))

        first = [generate(client, replicas[0]) for _ in range(4)]  # replica 1 meets the busy and the dead key
        met = keys_used(vendor)
        others = [generate(client, replica) for replica in replicas[1:] for _ in range(20)]
        after_others = keys_used(vendor)

        made_by_first = httpx.URL(first[0].json()["data"][0]["url"]).path
        served_by_third = client.get(f"{replicas[2]}{made_by_first}")
        original = client.get(f"{replicas[0]}{made_by_first}")

        before_spread = keys_used(vendor)
        spread = []
        for index in range(300):
            if index == 150:
                redis.stop()  # Redis dies in the middle of the run
            spread.append(generate(client, balancer))
        used = keys_used(vendor) - before_spread
        ready = client.get(f"{replicas[1]}/health/ready").json()
        redis.start()

    assert [reply.status_code for reply in first + others] == [200] * 44
    assert (met["busy-key-00000000002"], met["dead-key-00000000004"]) == (1, 1)
    # neither replica 2 nor 3 tried the cooling or the dead key on any of their requests
    assert (after_others["busy-key-00000000002"], after_others["dead-key-00000000004"]) == (1, 1)

    assert served_by_third.status_code == 200 and served_by_third.content == original.content
    assert served_by_third.headers["content-type"] == "image/png"

    assert [reply.status_code for reply in spread] == [200] * 300
    good = [used[key] for key in KEYS if key.startswith("good")]
    assert sum(good) == 300 and max(good) / min(good) <= 1.2, used
    assert used["busy-key-00000000002"] == 0 and used["dead-key-00000000004"] == 0
    assert ready["shared_state"] == "redis unavailable (serving from local state)"
