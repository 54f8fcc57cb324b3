"""Browsers may call every endpoint: CORS as chat UIs in client-request mode and the SDKs in a browser need it.

Preflights are answered before authentication (a browser never sends the key
with them); the headers a request asks for are allowed (``Authorization``,
``Content-Type``, ``OpenAI-*``, the SDKs' ``X-Stainless-*``, whatever a newer
SDK adds); ``X-Imagegate-*`` and ``Retry-After`` can be read by the page.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig

from config import Settings

EXPOSED = ["X-Imagegate-Provider", "X-Imagegate-Attempts", "Retry-After", "X-Request-Id"]
MAX_AGE = 3600
"""Seconds a browser may reuse a preflight's answer."""


def cors_config(settings: Settings) -> CORSConfig | None:
    """The app's CORS rules from ``CORS_ALLOW_ORIGINS``; None (no CORS headers) when it is empty."""
    if not settings.cors_allow_origins:
        return None
    return CORSConfig(
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["*"],  # reflected from the preflight: "*" alone would not cover Authorization
        expose_headers=EXPOSED,
        allow_credentials=False,
        max_age=MAX_AGE,
    )
