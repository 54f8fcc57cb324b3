"""Liveness (``/health``, as the seed answers it) and readiness from what the gateway has observed.

Readiness never spends a vendor call: it reports each key as last seen.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from config import VendorGroup
from gateway.auth import check_client_key
from gateway.errors import Unauthorized
from gateway.pipeline import ImagePipeline
from gateway.resources import Resources
from gateway.router import Router
from gateway.schemas import Health, KeyHealth, ProviderHealth, Readiness, RouteHealth


@get(["/health", "/v1/health"])
async def get_health() -> Health:
    return Health(status="ok")


@get("/health/ready")
async def get_readiness(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[Readiness | Health]:
    """Image models are ready when some key of some route is usable; the rewriting LLM is shown, never failing.

    Anyone may ask (load balancers send no key) and gets the overall status;
    which models, groups and keys are failing is told only to a client key.
    """
    readiness = assess(resources.router, resources.pipeline)
    status_code = 200 if not readiness.failing else 503
    shared = resources.shared_state
    if shared is not None:  # still serving without Redis, so still ready; but not as it should be
        readiness.shared_state = "redis" if shared.available else "redis unavailable (serving from local state)"
        readiness.status = "ok" if shared.available and not readiness.failing else "degraded"
    try:
        check_client_key(request.headers.get("authorization", ""), resources.settings, resources.clients)
    except Unauthorized:
        return Response(Health(status=readiness.status), status_code=status_code)
    return Response(readiness, status_code=status_code)


FAILING_AFTER = 3
"""Vendor-side failures in a row after which readiness counts a route as failing (until it delivers again)."""


def assess(router: Router, pipeline: ImagePipeline) -> Readiness:
    ok: list[str] = []
    failing: dict[str, str] = {}
    for model, routes in router.routes.items():
        working = [route for route in routes if route.failures_in_a_row < FAILING_AFTER]
        if any(route.pool.has_usable_key() for route in working):
            ok.append(model)
        elif working or not routes:
            failing[model] = "every key of every route is cooling down or dead"
        else:
            last = routes[-1]
            failing[model] = f"every route failed its last {FAILING_AFTER} calls; last: {last.last_failure}"
    providers = [group_health(router, group) for group in router.groups]
    rewriter = pipeline.rewriter
    rewriting = [group_health(rewriter.router, group) for group in rewriter.router.groups] if rewriter else []
    return Readiness(
        status="ok" if not failing else "degraded",
        ok=ok,
        failing=failing,
        providers=providers,
        rewriting=rewriting[0] if rewriting else None,
    )


def group_health(router: Router, group: VendorGroup) -> ProviderHealth:
    pool = router.pools[group.name]
    routes = [route for routes in router.routes.values() for route in routes if route.group is group]
    return ProviderHealth(
        name=group.name,
        type=group.type,
        keys=[KeyHealth(s.fingerprint, s.state, s.seconds_left) for s in pool.status()],
        routes=[
            RouteHealth(
                route.public_model,
                route.vendor_model,
                router.is_healthy(route) and route.failures_in_a_row < FAILING_AFTER,
                pool.has_usable_key(),
            )
            for route in routes
        ],
    )
