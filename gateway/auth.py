"""Client authentication against ``AUTHORIZED_API_KEY`` and the managed clients, and the rule for running without.

An entry may name its client (``alice:sk-…``); an unnamed key's client is its
fingerprint. Clients made through the admin API (gateway/clients.py) are
named by their key's hash. The client is what records and usage are kept
under. ``ADMIN_API_KEY`` is a client of its own (``admin``) that sees every
client's records and usage and manages clients; once it is set, every request
needs a key (the clients it makes are the gateway's users).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import structlog
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from config import ConfigError, Settings
from gateway.clients import Clients
from gateway.errors import Unauthorized, send_error
from gateway.keys import fingerprint

log = structlog.get_logger("gateway.auth")
CLIENT = "imagegate_client"
ANONYMOUS = "anonymous"
ADMIN = "admin"
CLIENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_required(settings: Settings) -> bool:
    return bool(settings.authorized_api_key) or settings.admin_api_key is not None


def check_anonymous_binding(settings: Settings) -> None:
    """No client keys is fine on loopback (with a warning); elsewhere only with ALLOW_ANONYMOUS=true."""
    if auth_required(settings):
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
        state = scope["litestar_app"].state
        try:
            client = check_client_key(authorization.decode("latin-1"), state.settings, state.resources.clients)
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


@dataclass(frozen=True, slots=True)
class ClientKey:
    name: str
    key: str


@cache
def client_keys(entries: tuple[str, ...]) -> tuple[ClientKey, ...]:
    """``AUTHORIZED_API_KEY``'s entries: ``name:key`` names its client, a bare key's client is its fingerprint."""
    keys = []
    for entry in entries:
        name, separator, key = entry.partition(":")
        named = separator and key and CLIENT_NAME.fullmatch(name) and not name.startswith("sk-")
        keys.append(ClientKey(name, key) if named else ClientKey(fingerprint(entry), entry))
    return tuple(keys)


def check_client_key(authorization: str, settings: Settings, clients: Clients) -> str:
    """The client the key belongs to; Unauthorized unless auth is off or the key is a client (or the admin) key."""
    scheme, _space, token = authorization.partition(" ")
    offered = token.strip() if scheme.lower() == "bearer" else ""
    admin = settings.admin_api_key
    if offered and admin is not None and key_matches(offered, [admin.get_secret_value()]):
        return ADMIN
    managed = clients.named(offered) if offered else None
    if managed is not None:
        return managed
    if not auth_required(settings):
        return ANONYMOUS
    if not offered:
        raise Unauthorized("missing API key: send 'Authorization: Bearer YOUR_KEY'")
    keys = client_keys(tuple(secret.get_secret_value() for secret in settings.authorized_api_key))
    matched = ANONYMOUS
    for client in keys:  # every key compared, in constant time: no early exit on a match
        if hmac.compare_digest(offered.encode(), client.key.encode()):
            matched = client.name
    if matched == ANONYMOUS:
        raise Unauthorized("incorrect API key provided")
    return matched
