"""``imagegate serve --workers N``: refused without Redis; with it, N processes on one port that agree on the keys."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.processes import IMAGEGATE, fake_vendor, free_port, running
from tests.support.redis import RedisServer

pytestmark = pytest.mark.e2e
KEY = "sk-client-workers-0001"


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def test_more_than_one_worker_without_redis_is_refused(tmp_path: Path) -> None:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("IMAGE_GEN_", "REDIS_"))}
    done = subprocess.run(
        [str(IMAGEGATE), "serve", "--workers", "2"], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.startswith("imagegate: configuration error: --workers 2 needs REDIS_URL")


def test_workers_share_the_port_and_the_keys_and_stop_together(tmp_path: Path, redis: RedisServer) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with fake_vendor() as vendor:
        env = {
            "AUTHORIZED_API_KEY": KEY,
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic=fake-image-1",
            "IMAGE_GEN_API_KEY_1": "good-key-000000000001,busy-key-00000000002,good-key-000000000003",
            "REDIS_URL": redis.url,
            "PORT": str(port),
        }
        command = [str(IMAGEGATE), "serve", "--workers", "2"]
        with running(command, probe_url=f"{base}/health", env=env, cwd=tmp_path) as parent:
            time.sleep(1.0)  # both workers up
            workers = children(parent.pid)
            headers = {"Authorization": f"Bearer {KEY}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                replies = [
                    client.post(
                        "/v1/images/generations", json={"prompt": "a red fox", "model": "pic", "size": "256x256"}
                    )
                    for _ in range(40)
                ]
                ready = client.get("/health/ready").json()
            used = Counter(entry["key"] for entry in httpx.get(f"{vendor}/received", timeout=5).json())
            parent.send_signal(signal.SIGTERM)
            parent.wait(timeout=20)
    assert len(workers) == 2
    assert [reply.status_code for reply in replies] == [200] * 40
    assert ready["shared_state"] == "redis"
    # the busy key answered 429 (Retry-After: 30) once, and neither worker sent it anything more
    assert used["busy-key-00000000002"] == 1, used
    assert used["good-key-000000000001"] + used["good-key-000000000003"] == 40
    assert abs(used["good-key-000000000001"] - used["good-key-000000000003"]) <= 4, used
    assert all(not Path(f"/proc/{worker}").exists() for worker in workers)
