"""Prometheus metrics (prometheus-client), and ``GET /metrics`` in its text format.

What an operator graphs and alerts on: requests by endpoint, model and
status; vendor attempts by route and outcome; key states; generation and total
latency; bytes stored and served; rewrite cache hits; requests in flight. The
endpoint label is the route's template, never the raw path, so image names do
not multiply the series. ``routes/metrics.py`` serves them.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)
TEMPLATES = (
    ("/image-proxy/", "/image-proxy/{name}"),
    ("/v1/models/", "/v1/models/{id}"),
    ("/v1/images/img_", "/v1/images/{id}"),
    ("/v1/templates/", "/v1/templates/{id}"),
    ("/v1/images/batches/", "/v1/images/batches/{id}"),
    ("/v1/admin/clients/", "/v1/admin/clients/{id}"),
)
STATIC_PATHS = frozenset(
    {
        "/",
        "/playground",
        "/health",
        "/v1/health",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/image-proxy",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/images/variations",
        "/v1/images",
        "/v1/usage",
        "/api/analytics/costs",
        "/v1/templates",
        "/v1/images/batches",
        "/v1/admin/clients",
    }
)

REQUESTS = Counter("imagegate_requests", "Requests answered", ["endpoint", "model", "status"])
REQUEST_SECONDS = Histogram(
    "imagegate_request_seconds", "Time to answer a request (a stream: until it ended)", ["endpoint"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
IN_FLIGHT = Gauge("imagegate_requests_in_flight", "Requests being answered now")
VENDOR_ATTEMPTS = Counter("imagegate_vendor_attempts", "Vendor calls by route and outcome", ["route", "outcome"])
GENERATION_SECONDS = Histogram(
    "imagegate_generation_seconds", "Time a route took to deliver pictures, retries included", ["model"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
STORED_BYTES = Counter("imagegate_stored_bytes", "Bytes of pictures written to the store (results and inputs)")
SERVED_BYTES = Counter("imagegate_served_bytes", "Bytes of pictures sent from /image-proxy")
REWRITE_CACHE = Counter("imagegate_rewrite_cache", "Prompt rewrites by cache outcome", ["outcome"])
KEYS = Gauge("imagegate_keys", "Vendor keys by group and state", ["group", "state"])


def endpoint_of(path: str) -> str:
    """The route template a path belongs to (a bounded label), or ``other``."""
    if path in STATIC_PATHS:
        return path
    return next((template for prefix, template in TEMPLATES if path.startswith(prefix)), "other")


def observe_request(path: str, model: str, status: int, seconds: float) -> None:
    endpoint = endpoint_of(path)
    REQUESTS.labels(endpoint, model, str(status)).inc()
    REQUEST_SECONDS.labels(endpoint).observe(seconds)
