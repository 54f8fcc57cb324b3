"""Client authentication against ``AUTHORIZED_API_KEY``, and the rule for running without it."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

import structlog
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from config import ConfigError, Settings
from gateway.errors import Unauthorized, send_error
from gateway.keys import fingerprint

log = structlog.get_logger("gateway.auth")
CLIENT = "imagegate_client"
ANONYMOUS = "anonymous"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_anonymous_binding(settings: Settings) -> None:
    """No client keys is fine on loopback (with a warning); elsewhere only with ALLOW_ANONYMOUS=true."""
    if settings.authorized_api_key:
        return
    if is_loopback(settings.host):
        log.warning("auth.disabled", reason="AUTHORIZED_API_KEY is empty; serving without auth on loopback")
    elif settings.allow_anonymous:
        log.warning("auth.disabled", reason="ALLOW_ANONYMOUS=true", host=settings.host)
    else:
        raise ConfigError(
            f"AUTHORIZED_API_KEY is empty and HOST={settings.host} is not loopback: "
            "set client keys, or ALLOW_ANONYMOUS=true to serve without auth"
        )


def key_matches(offered: str, allowed: list[str]) -> bool:
    """Constant-time comparison against every allowed key (no early exit on a match)."""
    matched = False
    for key in allowed:
        matched |= hmac.compare_digest(offered.encode(), key.encode())
    return matched


def client_key_middleware(app: ASGIApp) -> ASGIApp:
    """The client-key check of ``/v1``, after routing (unknown paths stay 404, wrong methods 405).

    Middleware rather than a litestar guard: litestar copies the route handler
    for every guard call, 2% of a request's CPU under load (py-spy, issue 9).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        try:
            client = check_client_key(authorization.decode("latin-1"), scope["litestar_app"].state.settings)
        except Unauthorized as error:
            await send_error(send, error)
            return
        scope.setdefault("state", {})[CLIENT] = client
        await app(scope, receive, send)

    return middleware


def client_of(request: Request[Any, Any, Any]) -> str:
    """Who is asking: the fingerprint of the client key the request came with, or ``anonymous`` without auth."""
    state = request.scope.get("state", {})
    return str(state.get(CLIENT, ANONYMOUS))


def check_client_key(authorization: str, settings: Settings) -> str:
    """The client the key names (its fingerprint); Unauthorized unless auth is off or the key is a client key."""
    if not settings.authorized_api_key:
        return ANONYMOUS
    scheme, _space, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Bearer YOUR_KEY'")
    if not key_matches(token.strip(), [key.get_secret_value() for key in settings.authorized_api_key]):
        raise Unauthorized("incorrect API key provided")
    return fingerprint(token.strip())
