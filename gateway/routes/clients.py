"""``/v1/admin/clients``: clients made, limited, given a new key and revoked by ``ADMIN_API_KEY``.

A new client's key is in the answer that makes it (and in a rotation's), never
again: only its hash is kept. Names follow ``AUTHORIZED_API_KEY``'s (a letter,
then letters, digits, ``_.-``; at most 64) and are never reused, nor may they be
one of ``AUTHORIZED_API_KEY``'s names, ``admin`` or ``anonymous``.
"""

from __future__ import annotations

from typing import Any

import pydantic
from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from config.settings import ClientLimits
from gateway.auth import ADMIN, ANONYMOUS, CLIENT_NAME, client_keys, client_of
from gateway.clients import Client, limits_json
from gateway.errors import Forbidden, InvalidRequest
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.schemas import ClientChange, ClientIn, ClientList, ClientOut


@post("/admin/clients", status_code=201)
async def create_client(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> ClientOut:
    _admin_only(request)
    body = await read_body(request, ClientIn)
    name = body.name.strip()
    taken = {ADMIN, ANONYMOUS} | {
        key.name for key in client_keys(tuple(s.get_secret_value() for s in resources.settings.authorized_api_key))
    }
    if not CLIENT_NAME.fullmatch(name) or name.startswith("sk-"):
        rule = "name must start with a letter and hold only letters, digits and _.- (64 at most)"
        raise InvalidRequest(rule, param="name")
    if name in taken:
        raise InvalidRequest(f"the name '{name}' belongs to another client", param="name")
    client, key = await resources.clients.create(name, _limits(body.limits))
    return shown(client, key)


@get("/admin/clients")
async def list_clients(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> ClientList:
    _admin_only(request)
    return ClientList([shown(client) for client in resources.clients.all()])


@get("/admin/clients/{client_id:str}")
async def get_client(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], client_id: FromPath[str]
) -> ClientOut:
    _admin_only(request)
    return shown(resources.clients.get(client_id))


@patch("/admin/clients/{client_id:str}")
async def change_client(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], client_id: FromPath[str]
) -> ClientOut:
    _admin_only(request)
    body = await read_body(request, ClientChange)
    return shown(await resources.clients.set_limits(client_id, _limits(body.limits)))


@post("/admin/clients/{client_id:str}/rotate", status_code=200)
async def rotate_client_key(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], client_id: FromPath[str]
) -> ClientOut:
    """A new key; the old one stops working (at other replicas within 30 s)."""
    _admin_only(request)
    return shown(*await resources.clients.rotate(client_id))


@delete("/admin/clients/{client_id:str}", status_code=200)
async def revoke_client(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], client_id: FromPath[str]
) -> ClientOut:
    """The key stops working; the name and the records stay."""
    _admin_only(request)
    return shown(await resources.clients.revoke(client_id))


def shown(client: Client, key: str | None = None) -> ClientOut:
    out = ClientOut(
        id=client.id,
        name=client.name,
        key_hint=client.key_hint,
        limits=limits_json(client.limits),
        created_at=int(client.created_at.timestamp()),
        revoked=client.revoked,
    )
    if key is not None:
        out.key = key
    return out


def _admin_only(request: Request[Any, Any, Any]) -> None:
    if client_of(request) != ADMIN:
        raise Forbidden("only ADMIN_API_KEY manages clients")


def _limits(raw: dict[str, float] | None) -> ClientLimits | None:
    if not raw:
        return None
    try:
        return ClientLimits.model_validate(raw)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidRequest(f"limits.{field}: {first['msg']}", param=f"limits.{field}") from None
