"""What operators and tools read: the OpenAPI document, /metrics, the start summary and its warnings, readiness."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate
from pytest_httpx import HTTPXMock

from gateway.startup import summary, warnings
from tests.support.app import app_client, make_settings, vendor_env
from tests.support.images import b64, png

ROUTES = {
    ("/v1/chat/completions", "post"),
    ("/v1/images/generations", "post"),
    ("/v1/images/edits", "post"),
    ("/v1/images/variations", "post"),
    ("/v1/models", "get"),
    ("/v1/models/{model_id}", "get"),
    ("/health", "get"),
    ("/health/ready", "get"),
    ("/image-proxy/{name}", "get"),
    ("/v1/images", "get"),
    ("/v1/images/{record_id}", "get"),
    ("/v1/images/{record_id}", "delete"),
    ("/v1/usage", "get"),
    ("/v1/templates", "post"),
    ("/v1/templates", "get"),
    ("/api/analytics/costs", "get"),
}


async def test_the_openapi_document_is_valid_and_describes_every_route_body_and_error() -> None:
    async with app_client(make_settings()) as client:
        document = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    validate(document)  # raises on anything the OpenAPI 3.1 specification does not allow
    present = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert present >= ROUTES
    chat = document["paths"]["/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatCompletionRequest"
    }
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert chat["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    edits = document["paths"]["/v1/images/edits"]["post"]["requestBody"]["content"]
    assert set(edits) == {"application/json", "multipart/form-data"}
    schemas = document["components"]["schemas"]
    assert "messages" in schemas["ChatCompletionRequest"]["properties"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format, 0 when absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)", line)
        if match and ",".join(sorted((match["labels"] or "").split(","))) == wanted:
            return float(match["value"])
    return 0.0


async def test_metrics_move_after_a_request(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "openai", "https://o.example/v1", "pic", "sk-one-000000000001,sk-two-000000000002")
    httpx_mock.add_response(url="https://o.example/v1/images/generations", status_code=401)
    httpx_mock.add_response(url="https://o.example/v1/images/generations", json={"data": [{"b64_json": b64(png())}]})
    async with app_client(make_settings(env)) as client:
        before = (await client.get("/metrics")).text
        made = await client.post("/v1/images/generations", json={"prompt": "a red fox", "model": "pic"})
        await client.get(made.json()["data"][0]["url"].removeprefix("http://testserver.local"))
        after = (await client.get("/metrics")).text
    labels = {"endpoint": "/v1/images/generations", "model": "pic", "status": "200"}
    assert (
        metric(after, "imagegate_requests_total", **labels) == metric(before, "imagegate_requests_total", **labels) + 1
    )
    assert metric(after, "imagegate_vendor_attempts_total", route="group1:pic", outcome="key_rejected") >= 1
    assert metric(after, "imagegate_vendor_attempts_total", route="group1:pic", outcome="ok") >= 1
    assert metric(after, "imagegate_keys", group="group1", state="dead") == 1
    assert metric(after, "imagegate_keys", group="group1", state="healthy") == 1
    assert metric(after, "imagegate_stored_bytes_total") > metric(before, "imagegate_stored_bytes_total")
    assert metric(after, "imagegate_served_bytes_total") > metric(before, "imagegate_served_bytes_total")
    assert metric(after, "imagegate_generation_seconds_count", model="pic") >= 1
    assert "imagegate_requests_in_flight" in after


async def test_metrics_can_require_a_key() -> None:
    async with app_client(make_settings({"METRICS_KEY": "metrics-secret-0001"})) as client:
        refused = await client.get("/metrics")
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer metrics-secret-0001"})
    assert refused.status_code == 401 and allowed.status_code == 200


def test_the_start_summary_names_models_groups_keys_by_fingerprint_and_modes() -> None:
    env = vendor_env(1, "openai", "https://o.example/v1", "pic=gpt-image-1", "sk-secret-key-000000000001")
    env |= {"OPENAI_API_BASE": "https://llm.example/v1", "OPENAI_API_KEY": "sk-llm-000001", "OPENAI_MODEL": "mini"}
    env |= {"AUTHORIZED_API_KEY": "client-key-000000000001", "PUBLIC_BASE_URL": "https://img.example.com"}
    said = summary(make_settings(env))
    assert said["models"] == {"pic": ["group1:gpt-image-1"]}
    assert said["groups"]["group1"]["type"] == "openai" and len(said["groups"]["group1"]["keys"]) == 1
    assert said["rewriting"] == "fast with mini"
    assert said["auth"] == "1 client key(s)" and said["links"] == "https://img.example.com"
    assert said["store"].startswith("memory")
    assert "sk-secret-key" not in str(said) and "client-key" not in str(said)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"IMAGE_GEN_MODLE_1": "pic"}, "IMAGE_GEN_MODLE_1 is not a setting imagegate knows, so it is ignored; did you "
                                       "mean IMAGE_GEN_MODEL_1?"),
        ({"MEDIA_STOR": "memory://"}, "did you mean MEDIA_STORE?"),
        ({"OPENAI_API_KEY": "sk-llm-000001"}, "OPENAI_API_KEY is set but neither OPENAI_MODEL"),
        (vendor_env(1, "openai", "https://api.openai.com/v1", "gpt-image-1", "sk-first,sk-second"),
         "IMAGE_GEN_API_KEY_1 still holds the example value 'sk-first' from config/example.env"),
        (vendor_env(2, "cloudflare", "https://api.cloudflare.com/client/v4/accounts/ACCOUNT_ID/ai/run", "sdxl", "k1"),
         "IMAGE_GEN_API_BASE_2 still holds the placeholder ACCOUNT_ID from config/example.env"),
    ],
    ids=["misspelled-indexed", "misspelled", "llm-key-without-model", "example-key", "example-url"],
)  # fmt: skip
def test_each_probable_mistake_gets_a_warning(env: dict[str, str], expected: str) -> None:
    found = warnings(make_settings(env))
    assert any(expected in warning for warning in found), found


def test_a_clean_configuration_gets_no_warning() -> None:
    env = vendor_env(1, "openai", "https://o.example/v1", "pic", "sk-real-000000000001")
    assert warnings(make_settings(env)) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [("https://api.example.com/v1 /x", "space"), ("https://api.example.com:80a/v1", "port"), ("ftp://x/v1", "http")],
)
def test_vendor_urls_are_checked_strictly(url: str, problem: str) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match=problem):
        make_settings(vendor_env(1, "openai", url, "pic", "k"))


async def test_a_private_image_host_error_names_the_setting(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "siliconflow", "https://sf.example/v1/images/generations", "pic", "k")
    httpx_mock.add_response(json={"images": [{"url": "http://192.168.1.20/out.png"}]})
    async with app_client(make_settings(env)) as client:
        reply = await client.post("/v1/images/generations", json={"prompt": "a fox", "model": "pic"})
    assert reply.status_code == 502
    assert "MEDIA_ALLOW_PRIVATE_NETWORKS=true" in reply.json()["error"]["message"]


async def test_a_chat_vendor_at_an_api_root_says_to_use_the_chat_completions_url(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "chat", "https://llm.example/v1", "pic", "k") | {"RETRY_ROUNDS": "1"}
    httpx_mock.add_response(url="https://llm.example/v1", status_code=404, is_reusable=True)
    async with app_client(make_settings(env)) as client:
        reply = await client.post("/v1/images/generations", json={"prompt": "a fox", "model": "pic"})
    assert reply.status_code == 502
    assert "ending in /chat/completions, not the API root" in reply.json()["error"]["message"]


async def test_readiness_counts_a_route_that_keeps_failing_as_failing(httpx_mock: HTTPXMock) -> None:
    env = vendor_env(1, "openai", "https://o.example/v1", "pic", "k") | {"AUTHORIZED_API_KEY": "client-000000000001"}
    env |= {"RETRY_ROUNDS": "1", "ROUTE_UNHEALTHY_SECONDS": "0"}
    httpx_mock.add_response(url="https://o.example/v1/images/generations", status_code=503, is_reusable=True)
    auth = {"Authorization": "Bearer client-000000000001"}
    async with app_client(make_settings(env)) as client:
        assert (await client.get("/health/ready")).status_code == 200
        for _ in range(3):
            await client.post("/v1/images/generations", json={"prompt": "a fox", "model": "pic"}, headers=auth)
        ready = await client.get("/health/ready", headers=auth)
    assert ready.status_code == 503
    assert ready.json()["failing"]["pic"].startswith("every route failed its last 3 calls")
