"""The database: its URL, the engine, and the schema brought up to date at start (Alembic, in-process)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from config import Settings

DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


@dataclass(frozen=True, slots=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def close(self) -> None:
        await self.engine.dispose()


def database_url(settings: Settings) -> str:
    """``DATABASE_URL`` with its async driver named; SQLite in ``DATA_DIR`` when unset."""
    raw = settings.database_url or f"sqlite:///{Path(settings.data_dir) / 'imagegate.db'}"
    scheme, sep, rest = raw.partition("://")
    return f"{DRIVERS.get(scheme, scheme)}{sep}{rest}"


async def open_database(settings: Settings) -> Database:
    """The engine for ``DATABASE_URL``, with the schema migrated to the newest revision."""
    url = database_url(settings)
    options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = url.partition(":///")[2]
        if path in ("", ":memory:"):
            options["poolclass"] = StaticPool  # one connection, or every session would see its own empty database
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **options)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.begin() as connection:
        await connection.run_sync(migrate)
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False))


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
