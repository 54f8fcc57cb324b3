"""The database: its URL, the engine, and the schema brought up to date at start (Alembic, in-process)."""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from config import Settings

MIGRATION_ATTEMPTS = 5
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


@dataclass(frozen=True, slots=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    scratch: Path | None = None
    """The temporary directory an ``sqlite:///:memory:`` database lives in, removed on close."""

    async def close(self) -> None:
        await self.engine.dispose()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def database_url(settings: Settings) -> str:
    """``DATABASE_URL`` with its async driver named; SQLite in ``DATA_DIR`` when unset."""
    raw = settings.database_url or f"sqlite:///{Path(settings.data_dir) / 'imagegate.db'}"
    scheme, sep, rest = raw.partition("://")
    return f"{DRIVERS.get(scheme, scheme)}{sep}{rest}"


async def open_database(settings: Settings) -> Database:
    """The engine for ``DATABASE_URL``, with the schema migrated to the newest revision."""
    url = database_url(settings)
    scratch = None
    if url.startswith("sqlite"):
        driver, _, path = url.partition(":///")
        if path in ("", ":memory:"):
            # SQLite's own in-memory database belongs to one connection (gone with it, and shared by every session
            # at once); a file in a private temporary directory acts like the real thing and goes on close.
            scratch = Path(tempfile.mkdtemp(prefix="imagegate-db-"))
            url = f"{driver}:///{scratch / 'imagegate.db'}"
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    for attempt in range(MIGRATION_ATTEMPTS):
        try:
            async with engine.begin() as connection:
                await connection.run_sync(migrate)
            break
        except DBAPIError:  # another process (a worker, a replica) migrated at the same moment: look again
            if attempt == MIGRATION_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2 + 0.3 * random.random())
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False), scratch)


def migrate(connection: Connection, revision: str = "head") -> None:
    """Run Alembic's upgrade to ``revision`` on ``connection`` (from an empty database or any earlier revision)."""
    command.upgrade(alembic_config(connection), revision)


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for the gateway's migrations, run on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(files("gateway.records").joinpath("migrations")))
    config.attributes["connection"] = connection
    return config


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers and the writer work at once; a busy database waits instead of failing."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
