"""Client authentication against ``AUTHORIZED_API_KEY``, and the rule for running without it."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from config import ConfigError, Settings
from gateway.errors import Unauthorized

log = structlog.get_logger("gateway.auth")


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


async def require_client_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The guard of ``/v1``; async, so litestar runs it on the loop rather than handing it to a worker thread."""
    check_client_key(connection.headers, connection.app.state.settings)


def check_client_key(headers: Mapping[str, str], settings: Settings) -> None:
    """Unauthorized unless auth is off or ``Authorization: Bearer`` carries one of the client keys."""
    if not settings.authorized_api_key:
        return
    scheme, _space, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Bearer YOUR_KEY'")
    if not key_matches(token.strip(), [key.get_secret_value() for key in settings.authorized_api_key]):
        raise Unauthorized("incorrect API key provided")
