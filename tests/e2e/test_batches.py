"""A batch through the real gateway survives a clean restart and a crash in the middle, and calls its webhook once."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.processes import fake_vendor, gateway_server

pytestmark = pytest.mark.e2e
KEY = "sk-alice-e2e-000000001"
SECRET = "whsec-e2e-000000000001"


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on a loopback port: keeps every POST it gets (headers and body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Hook)
        self.calls: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/imagegate"


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def progress(base: str, batch_id: str) -> dict[str, Any]:
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY)
    shown: dict[str, Any] = client.get(f"/images/batches/{batch_id}", cast_to=dict[str, Any])
    return shown


def wait_for(base: str, batch_id: str, done: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = progress(base, batch_id)
        if shown["request_counts"]["completed"] >= done:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{done} prompts of {batch_id} were not made in {timeout} s: {shown['request_counts']}")


def test_a_batch_survives_a_restart_and_a_crash_and_calls_its_webhook_once(tmp_path: Path, receiver: Receiver) -> None:
    prompts = [f"a fox in a forest, study {i}" for i in range(6)]
    with fake_vendor(latency=0.4) as vendor:
        env = {
            "AUTHORIZED_API_KEY": f"alice:{KEY}",
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic=fake-image-1",
            "IMAGE_GEN_API_KEY_1": "good-key-000000000001",
            "IMAGE_GEN_COST_1": "0.04",
            "BATCH_CONCURRENCY": "1",
            "BATCH_LEASE_SECONDS": "2",
            "WEBHOOK_SECRET": SECRET,
            "MEDIA_ALLOW_PRIVATE_NETWORKS": "true",
            "SHUTDOWN_GRACE_SECONDS": "5",
        }
        with gateway_server(env, cwd=tmp_path) as first:
            client = openai.OpenAI(base_url=f"{first.url}/v1", api_key=KEY)
            created: dict[str, Any] = client.post(
                "/images/batches",
                body={"prompts": prompts, "model": "pic", "webhook_url": receiver.url},
                cast_to=dict[str, Any],
            )
            batch_id = created["id"]
            wait_for(first.url, batch_id, done=2)
            first.process.send_signal(
                signal.SIGTERM
            )  # a clean stop: the prompt in flight finishes, the lease is handed back
            first.process.wait(timeout=15)
        with gateway_server(env, cwd=tmp_path) as second:
            made_before = progress(second.url, batch_id)["request_counts"]["completed"]
            wait_for(second.url, batch_id, done=made_before + 1)
            second.process.send_signal(signal.SIGKILL)  # a crash: its lease must run out before anyone takes over
            second.process.wait(timeout=15)
        with gateway_server(env, cwd=tmp_path) as third:
            deadline = time.monotonic() + 60
            while progress(third.url, batch_id)["status"] == "in_progress" and time.monotonic() < deadline:
                time.sleep(0.1)
            finished = progress(third.url, batch_id)
            time.sleep(1.0)  # nothing more arrives at the webhook
            records: dict[str, Any] = openai.OpenAI(base_url=f"{third.url}/v1", api_key=KEY).get(
                "/images", cast_to=dict[str, Any]
            )

    assert made_before >= 3  # the item in flight at SIGTERM was finished and kept
    assert finished["status"] == "completed"
    assert finished["request_counts"] == {"total": 6, "completed": 6, "failed": 0, "cancelled": 0}
    assert [item["images"][0]["idea"] for item in finished["items"]] == prompts
    assert sorted(r["idea"] for r in records["data"]) == sorted(prompts)  # each prompt recorded once, none lost
    assert finished["webhook_status"] == "delivered"

    assert len(receiver.calls) == 1
    headers, body = receiver.calls[0]
    stamp, _, digest = headers["x-imagegate-signature"].partition(",v1=")
    expected = hmac.new(SECRET.encode(), f"{stamp.removeprefix('t=')}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, expected)
    sent = json.loads(body)
    assert (sent["id"], sent["status"], sent["request_counts"]["completed"]) == (batch_id, "completed", 6)
    assert all(item["images"][0]["url"].startswith(f"{first.url}/image-proxy/") for item in sent["items"])
