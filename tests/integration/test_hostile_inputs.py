"""The inputs found by probing a running gateway: each gets a clear answer (never a 500), nothing half-made is stored,
a failing vendor hands over to the next one, and nothing is logged at error level."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png
from tests.support.raw_server import RawRequest, Route, reply, routed, serving_in_thread

FIRST, SECOND = "https://first.example/v1", "https://second.example/v1"
TWO_VENDORS = vendor_env(1, "openai", FIRST, "pic") | vendor_env(2, "openai", SECOND, "pic")


def chat(text: str) -> dict[str, object]:
    return {"model": "pic", "messages": [{"role": "user", "content": text}]}


def error_lines(stderr: str) -> list[dict[str, object]]:
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [event for event in events if event.get("level") in ("error", "critical")]


def stored(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and path.parent.name != "links"]


@pytest.fixture
def media_env(tmp_path: Path) -> dict[str, str]:
    return {"MEDIA_STORE": f"file://{tmp_path}/media", "DATA_DIR": str(tmp_path)}


async def test_a_chat_prompt_over_the_limit_is_a_400_naming_it(httpx_mock: HTTPXMock) -> None:
    async with app_client(make_settings(TWO_VENDORS)) as client:
        response = await client.post("/v1/chat/completions", json=chat("a" + " " * 40_000 + "b"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "messages" and "32000" in error["message"]
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("prompt", "sent"),
    [
        pytest.param("a fox" + " " * 30_000 + "16:9", "a fox", id="long-run-of-spaces"),
        pytest.param("a fox " + "10:30 " * 5_000, "a fox " + " ".join(["10:30"] * 5_000), id="many-clock-times"),
        pytest.param("a fox --ar" + " " * 30_000 + "x", "a fox --ar x", id="unfinished-directive"),
        pytest.param("a fox" + "\n" * 30_000 + ", at dusk", "a fox, at dusk", id="newlines-before-a-comma"),
    ],
)
async def test_long_prompts_under_the_limit_are_read_in_linear_time(
    httpx_mock: HTTPXMock, prompt: str, sent: str
) -> None:
    httpx_mock.add_response(url=f"{FIRST}/images/generations", json={"data": [{"b64_json": b64(png())}]})
    async with app_client(make_settings(TWO_VENDORS)) as client:
        response = await client.post("/v1/chat/completions", json=chat(prompt))
    assert response.status_code == 200
    assert json.loads(httpx_mock.get_requests()[0].content)["prompt"] == sent


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"model": "pic", "prompt": "\xff\xfe a fox"}', id="invalid-utf8"),
        pytest.param(b'{"model": "pic", "prompt": "a fox \xed\xa0\x80"}', id="encoded-surrogate"),
        pytest.param(b'{"model": "pic", "prompt": "a \\ud800 fox"}', id="lone-surrogate-escape"),
        pytest.param(b'{"model": "pic", "prompt": "a fox", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="deep"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-top-level"),
        pytest.param(b'{"model": "pic", "prompt": "a fox", "n": 1' + b"0" * 5000 + b"}", id="huge-number"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/images/generations", "/v1/chat/completions"])
async def test_malformed_bodies_are_400s(
    httpx_mock: HTTPXMock, capsys: pytest.CaptureFixture[str], path: str, body: bytes
) -> None:
    async with app_client(make_settings(TWO_VENDORS)) as client:
        response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert error_lines(capsys.readouterr().err) == []


@pytest.mark.parametrize(
    "reply_body",
    [
        pytest.param({"choices": [{"message": {"role": "assistant", "images": 5}}]}, id="images-a-number"),
        pytest.param(
            {"choices": [{"message": {"role": "assistant", "images": [{"image_url": 7}]}}]}, id="image-url-a-number"
        ),
        pytest.param({"choices": "many"}, id="choices-a-string"),
        pytest.param({"choices": [{"message": {"content": [{"image_url": ["x"]}]}}]}, id="odd-content-parts"),
    ],
)
async def test_an_unreadable_chat_vendor_reply_hands_over_to_the_next_vendor(
    httpx_mock: HTTPXMock, capsys: pytest.CaptureFixture[str], reply_body: dict[str, object]
) -> None:
    env = vendor_env(1, "chat", "https://chat.example/v1/chat/completions", "pic") | vendor_env(
        2, "openai", SECOND, "pic"
    )
    httpx_mock.add_response(url="https://chat.example/v1/chat/completions", json=reply_body)
    httpx_mock.add_response(url=f"{SECOND}/images/generations", json={"data": [{"b64_json": b64(png())}]})
    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/chat/completions", json=chat("a fox"))
    assert response.status_code == 200
    assert response.headers.get("x-imagegate-provider") in (None, "group2:pic")
    assert len(httpx_mock.get_requests(url=f"{SECOND}/images/generations")) == 1
    assert error_lines(capsys.readouterr().err) == []


async def test_a_chat_vendor_image_url_given_as_a_string_is_taken(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "chat", "https://chat.example/v1/chat/completions", "pic")
    message = {"role": "assistant", "images": [{"image_url": "https://cdn.example/fox.png"}]}
    httpx_mock.add_response(url="https://chat.example/v1/chat/completions", json={"choices": [{"message": message}]})
    httpx_mock.add_response(url="https://cdn.example/fox.png", content=png(64, 64))
    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/chat/completions", json=chat("a fox"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "first_reply",
    [
        pytest.param({"data": [{"b64_json": b64(png(64, 64) + b"\0" * 4096)}]}, id="inline-image-over-the-cap"),
        pytest.param(
            {"data": [{"url": "https://x.example/a.png"}], "pad": "x" * (2 * 1024 * 1024)}, id="reply-over-cap"
        ),
    ],
)
async def test_oversized_vendor_replies_are_refused_and_the_next_vendor_serves(
    httpx_mock: HTTPXMock, tmp_path: Path, media_env: dict[str, str], first_reply: dict[str, object]
) -> None:
    env = TWO_VENDORS | media_env | {"MEDIA_MAX_BYTES": "2048"}
    httpx_mock.add_response(url=f"{FIRST}/images/generations", json=first_reply)
    httpx_mock.add_response(url=f"{SECOND}/images/generations", json={"data": [{"b64_json": b64(png(8, 8))}]})
    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/images/generations", json={"model": "pic", "prompt": "a fox"})
    assert response.status_code == 200
    assert response.headers["x-imagegate-provider"] == "group2:pic"
    assert [path.stat().st_size for path in stored(tmp_path / "media")] == [len(png(8, 8))]


async def test_when_every_vendor_sends_too_much_the_answer_is_a_502_naming_it(
    httpx_mock: HTTPXMock, tmp_path: Path, media_env: dict[str, str]
) -> None:
    env = vendor_env(1, "openai", FIRST, "pic") | media_env | {"MEDIA_MAX_BYTES": "2048"}
    oversized = {"data": [{"b64_json": b64(b"\0" * 4096)}]}
    httpx_mock.add_response(url=f"{FIRST}/images/generations", json=oversized, is_reusable=True)  # one call a pass
    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/images/generations", json={"model": "pic", "prompt": "a fox"})
    assert response.status_code == 502
    assert "too_large" in response.json()["error"]["message"]
    assert stored(tmp_path / "media") == []


def vendor_linking_to(image_reply: bytes) -> Route:
    """A vendor whose generation answer links to its own ``/image.png``, which is served as ``image_reply``."""

    async def route(request: RawRequest) -> bytes:
        if request.path.endswith("/images/generations"):
            link = f"http://{request.headers['host']}/image.png"
            return reply(json.dumps({"data": [{"url": link}]}).encode(), "Content-Type: application/json")
        return image_reply

    return route


def compressed_image(kind: str) -> bytes:
    """A PNG header followed by 64 MiB of zeros, as a few hundred KiB on the wire."""
    bomb = png() + b"\0" * (64 * 1024 * 1024)
    if kind == "stacked":
        return reply(gzip.compress(gzip.compress(bomb)), "Content-Encoding: gzip, gzip")
    if kind == "gzip":
        return reply(gzip.compress(bomb), "Content-Encoding: gzip")
    return reply(zlib.compress(png()), "Content-Encoding: br")


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        pytest.param("stacked", "bad_encoding", id="stacked-gzip-bomb"),
        pytest.param("gzip", "too_large", id="gzip-bomb"),
        pytest.param("unknown", "bad_encoding", id="unknown-encoding"),
    ],
)
async def test_compressed_image_downloads_cannot_inflate_past_the_cap(
    tmp_path: Path, media_env: dict[str, str], capsys: pytest.CaptureFixture[str], kind: str, code: str
) -> None:
    with serving_in_thread(routed(vendor_linking_to(compressed_image(kind)))) as vendor:
        env = vendor_env(1, "openai", f"{vendor}/v1", "pic") | media_env
        env |= {"MEDIA_ALLOW_PRIVATE_NETWORKS": "true", "MEDIA_MAX_BYTES": str(1024 * 1024)}
        async with app_client(make_settings(env)) as client:
            response = await client.post("/v1/chat/completions", json=chat("a fox"))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == code
    assert stored(tmp_path / "media") == []
    assert error_lines(capsys.readouterr().err) == []


async def test_a_memory_store_smaller_than_the_image_gives_a_clear_502(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "openai", FIRST, "pic") | {"MEDIA_STORE": "memory://", "MEDIA_STORE_MAX_BYTES": "100"}
    httpx_mock.add_response(url=f"{FIRST}/images/generations", json={"data": [{"b64_json": b64(png(64, 64))}]})
    async with app_client(make_settings(env)) as client:
        response = await client.post("/v1/images/generations", json={"model": "pic", "prompt": "a fox"})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "store_too_small" and "memory store" in error["message"]


async def test_readiness_detail_is_for_client_keys_only() -> None:
    async with app_client(make_settings({"AUTHORIZED_API_KEY": "client-key-0123456789"})) as client:
        anonymous = await client.get("/health/ready")
        wrong = await client.get("/health/ready", headers={"Authorization": "Bearer nope"})
        keyed = await client.get("/health/ready", headers={"Authorization": "Bearer client-key-0123456789"})
    assert anonymous.status_code == wrong.status_code == keyed.status_code == 200
    assert anonymous.json() == wrong.json() == {"status": "ok"}
    assert keyed.json()["ok"] == ["demo"] and keyed.json()["providers"][0]["keys"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/chat/completions", "OPTIONS, POST"),
        ("DELETE", "/image-proxy/abc.png", "GET, HEAD, OPTIONS"),
        ("POST", "/v1/models/some/model", "GET, OPTIONS"),
        ("PUT", "/health", "GET, OPTIONS"),
    ],
)
async def test_405_answers_say_which_methods_are_allowed(method: str, path: str, allow: str) -> None:
    async with app_client(make_settings()) as client:
        response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"
