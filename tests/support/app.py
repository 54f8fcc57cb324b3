"""Building settings and an in-process app client for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.testing import AsyncTestClient

from config import Settings
from gateway.app import create_app

# No backoff between passes, an in-memory store, and the vendors' tiny pictures kept as they are (not fitted to
# the asked size): tests switch these by configuration, not patching.
BASE_ENV = {
    "MEDIA_STORE": "memory://",
    "FIT_TO_SIZE": "false",
    "DATABASE_URL": "sqlite:///:memory:",
    "RETRY_BACKOFF_SECONDS": "0",
    "LOG_FORMAT": "json",
    "IMAGE_PROXY_SECRET": "test-proxy-secret",
}
GATEWAY = "http://testserver.local"


def make_settings(env: dict[str, str] | None = None) -> Settings:
    return Settings.from_env(BASE_ENV | (env or {}))


def vendor_env(n: int, kind: str, base: str, models: str, keys: str = "key-one") -> dict[str, str]:
    """The four variables of vendor group ``n``."""
    return {
        f"IMAGE_GEN_TYPE_{n}": kind,
        f"IMAGE_GEN_API_BASE_{n}": base,
        f"IMAGE_GEN_MODEL_{n}": models,
        f"IMAGE_GEN_API_KEY_{n}": keys,
    }


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """The app in process, its lifespan run, answering at ``GATEWAY``."""
    async with AsyncTestClient(app=create_app(settings), base_url=GATEWAY) as client:
        yield client
