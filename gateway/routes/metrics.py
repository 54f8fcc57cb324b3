"""``GET /metrics``: the Prometheus text format, with key states read at the moment of the scrape.

``METRICS_KEY`` (when set) must come as a bearer token; without it the
endpoint is open like ``/health`` (it shows counts and fingerprint-free group
names, never a key).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.auth import key_matches
from gateway.errors import Unauthorized
from gateway.metrics import KEYS
from gateway.resources import Resources


@get("/metrics", include_in_schema=False)
async def get_metrics(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> Response[bytes]:
    """The metrics, with key states read now from the router (and the rewriting LLM's keys)."""
    metrics_key = resources.settings.metrics_key
    if metrics_key is not None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key_matches(token.strip(), [metrics_key.get_secret_value()]):
            raise Unauthorized("this endpoint needs 'Authorization: Bearer METRICS_KEY'")
    routers = [resources.router] + ([resources.pipeline.rewriter.router] if resources.pipeline.rewriter else [])
    KEYS.clear()
    for router in routers:
        for name, pool in router.pools.items():
            for status in pool.status():
                KEYS.labels(name, status.state).inc()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
