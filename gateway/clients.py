"""Clients managed through the admin API (``/v1/admin/clients``), kept in the database with their keys hashed.

A key is issued once (``sk-ig-`` and 256 random bits) and only its SHA-256 is
kept: a key that random needs no slow hash to resist guessing, and a fast one
lets every request be checked in memory. The active clients' hashes are loaded
at start and again every ``REFRESH_SECONDS`` (so a client made or revoked at
another replica arrives there too); a change made here applies at once.
A revoked client keeps its name, so its records are never mixed with a new
client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import select, update

from config.settings import ClientLimits
from gateway.errors import InvalidRequest, NotFound
from gateway.records import Database
from gateway.records.schema import ClientRow

KEY_PREFIX = "sk-ig-"
REFRESH_SECONDS = 30.0

log = structlog.get_logger("gateway.clients")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hint(key: str) -> str:
    return f"{key[:8]}…{key[-4:]}"


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    key_hint: str
    limits: ClientLimits | None
    created_at: datetime
    revoked: bool


def _client(row: ClientRow) -> Client:
    limits = ClientLimits.model_validate_json(row.limits) if row.limits else None
    return Client(row.id, row.name, row.key_hint, limits, row.created_at, row.revoked)


class Clients:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._by_hash: dict[str, Client] = {}
        self._by_id: dict[str, Client] = {}
        self._by_name: dict[str, Client] = {}
        self._refresh: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Every client from the database (the active ones by key hash)."""
        async with self._database.sessions() as session:
            rows = list((await session.scalars(select(ClientRow))).all())
        self._by_id = {row.id: _client(row) for row in rows}
        self._by_hash = {row.key_hash: self._by_id[row.id] for row in rows if not row.revoked}
        self._by_name = {client.name: client for client in self._by_hash.values()}

    def start(self) -> None:
        self._refresh = asyncio.create_task(self._keep_fresh())

    async def stop(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh

    def named(self, key: str) -> str | None:
        """The name of the active client whose key this is (no hashing at all while there are none)."""
        client = self._by_hash.get(key_hash(key)) if self._by_hash else None
        return client.name if client is not None else None

    def limits_of(self, name: str) -> ClientLimits | None:
        client = self._by_name.get(name)
        return client.limits if client is not None else None

    def all(self) -> list[Client]:
        return sorted(self._by_id.values(), key=lambda client: (client.created_at, client.id))

    def get(self, client_id: str) -> Client:
        client = self._by_id.get(client_id)
        if client is None:
            raise NotFound(f"no client '{client_id}'")
        return client

    async def create(self, name: str, limits: ClientLimits | None) -> tuple[Client, str]:
        """A new client and its key (shown this once)."""
        if any(client.name == name for client in self._by_id.values()):
            raise InvalidRequest(f"a client named '{name}' exists (or existed) already", param="name")
        key = new_key()
        row = ClientRow(
            id=f"cli_{secrets.token_hex(8)}",
            name=name,
            key_hash=key_hash(key),
            key_hint=hint(key),
            limits=limits.model_dump_json(exclude_none=True) if limits else None,
            created_at=datetime.now(UTC),
            revoked=False,
        )
        async with self._database.sessions() as session, session.begin():
            session.add(row)
        await self.load()
        log.info("client.created", client=name)
        return self._by_id[row.id], key

    async def set_limits(self, client_id: str, limits: ClientLimits | None) -> Client:
        self.get(client_id)
        await self._change(client_id, limits=limits.model_dump_json(exclude_none=True) if limits else None)
        return self.get(client_id)

    async def rotate(self, client_id: str) -> tuple[Client, str]:
        """A new key for the client; the old one stops working at once (here; at other replicas within 30 s)."""
        if self.get(client_id).revoked:
            raise InvalidRequest(f"client '{client_id}' is revoked", param="client_id")
        key = new_key()
        await self._change(client_id, key_hash=key_hash(key), key_hint=hint(key))
        log.info("client.key_rotated", client=self.get(client_id).name)
        return self.get(client_id), key

    async def revoke(self, client_id: str) -> Client:
        await self._change(client_id, revoked=True)
        log.info("client.revoked", client=self.get(client_id).name)
        return self.get(client_id)

    async def _change(self, client_id: str, **values: object) -> None:
        self.get(client_id)
        async with self._database.engine.begin() as connection:
            await connection.execute(update(ClientRow).where(ClientRow.id == client_id).values(**values))
        await self.load()

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.load()
            except Exception as error:  # the clients known stay as they were
                log.warning("clients.refresh_failed", error=type(error).__name__)


def limits_json(limits: ClientLimits | None) -> dict[str, float] | None:
    """The limits as the admin API shows them (only those set)."""
    return json.loads(limits.model_dump_json(exclude_none=True)) if limits else None
