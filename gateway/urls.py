"""The absolute base for links the gateway emits."""

from __future__ import annotations

from typing import Any

from litestar import Request

from config import Settings


def public_base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """``PUBLIC_BASE_URL`` when set (path prefix included), else the scheme and host the request came to."""
    if settings.public_base_url:
        return settings.public_base_url
    return str(request.base_url).rstrip("/")
