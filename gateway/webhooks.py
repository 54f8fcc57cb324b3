"""Signed webhooks: one POST when a batch ends, retried with backoff, never to a private address.

The body is JSON; ``X-Imagegate-Signature: t=<unix seconds>,v1=<hex>`` carries
the HMAC-SHA256 of ``"<t>." + body`` under ``WEBHOOK_SECRET`` (generated once
into ``DATA_DIR/webhook-secret`` when unset), so a receiver checks both who sent
it and when (refuse old timestamps to stop replays). A 2xx answer is a delivery;
anything else, or no answer, is tried again after 1, 2, 4… times
``WEBHOOK_BACKOFF_SECONDS``, ``WEBHOOK_ATTEMPTS`` times in all. The address is
checked when the batch is submitted and again on every connection (the media
client's address guard), like every outbound call.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

import httpx
import structlog

from gateway.addresses import AddressGuard, AddressRefused
from gateway.errors import InvalidRequest

SIGNATURE_HEADER = "X-Imagegate-Signature"
SECRET_FILE = "webhook-secret"  # noqa: S105 (a file name, not a secret)
MAX_URL = 2000
TIMEOUT_SECONDS = 10.0
MAX_WAIT_SECONDS = 300.0

log = structlog.get_logger("gateway.webhooks")


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value a receiver recomputes: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>." + body>``."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


Attempted = Callable[[int, bool], Awaitable[None]]
"""Called after each attempt with the attempts made so far and whether this one was delivered."""


class Webhooks:
    def __init__(
        self, client: httpx.AsyncClient, secret: bytes, guard: AddressGuard, *, attempts: int, backoff: float
    ) -> None:
        self._client = client
        self._secret = secret
        self._guard = guard
        self._attempts = attempts
        self._backoff = backoff

    async def checked(self, raw: str) -> str:
        """``raw`` if it is an http(s) URL whose host resolves to addresses the policy allows; else a 400."""
        try:
            url = httpx.URL(raw.strip())
        except httpx.InvalidURL:
            raise InvalidRequest("webhook_url is not a valid URL", param="webhook_url") from None
        if url.scheme not in ("http", "https") or not url.host or len(raw) > MAX_URL:
            raise InvalidRequest(
                f"webhook_url must be an http or https URL of at most {MAX_URL} characters", param="webhook_url"
            )
        try:
            await self._guard.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
        except AddressRefused as refused:
            raise InvalidRequest(
                f"webhook_url is refused: {refused} (set MEDIA_ALLOW_PRIVATE_NETWORKS=true for receivers on your own"
                " network)",
                param="webhook_url",
            ) from None
        except OSError:
            raise InvalidRequest(f"webhook_url's host '{url.host}' cannot be resolved", param="webhook_url") from None
        return str(url)

    async def deliver(self, url: str, event: str, body: bytes, *, made: int, attempted: Attempted) -> bool:
        """POST ``body`` until it is taken or the attempts run out (``made`` were made before a restart)."""
        for attempt in range(made, self._attempts):
            if attempt:
                await asyncio.sleep(min(self._backoff * 2 ** (attempt - 1), MAX_WAIT_SECONDS))
            delivered = await self._post(url, event, body)
            await attempted(attempt + 1, delivered)
            if delivered:
                return True
        log.warning("webhook.given_up", kind=event, attempts=self._attempts)
        return False

    async def _post(self, url: str, event: str, body: bytes) -> bool:
        headers = {
            "Content-Type": "application/json",
            "Accept": "*/*",
            "User-Agent": "imagegate-webhook",
            "X-Imagegate-Event": event,
            SIGNATURE_HEADER: signature(self._secret, int(time.time()), body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
        except AddressRefused as refused:
            log.warning("webhook.refused", kind=event, reason=str(refused))
            return False
        except httpx.HTTPError as error:
            log.warning("webhook.failed", kind=event, error=type(error).__name__)
            return False
        if response.is_success:
            log.info("webhook.delivered", kind=event, status=response.status_code)
            return True
        log.warning("webhook.failed", kind=event, status=response.status_code)
        return False
