"""structlog, configured once: JSON lines in production, readable lines in a terminal.

Each request gets an id and one ``request.completed`` event that carries what
the handlers bound along the way (model, route, key fingerprint, attempts).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import sys
import time
from collections.abc import Iterable, MutableMapping
from typing import Any

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway import metrics
from gateway.errors import NoCapacity, send_error

log = structlog.get_logger("gateway.access")
ID_PREFIX = secrets.token_hex(4)
"""Request ids are this process's random prefix and a counter: unique across replicas, no system call each."""
request_numbers = itertools.count(1)
SHUTTING_DOWN = NoCapacity("the gateway is shutting down; retry shortly", retry_after=1.0, code="shutting_down")


class SecretScrubber:
    """A processor that blanks every configured secret wherever it appears in an event's text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if self._secrets:
            for name, value in event.items():
                if isinstance(value, str):
                    for secret in self._secrets:
                        value = value.replace(secret, "[redacted]")
                    event[name] = value
        return event


def configure_logging(log_format: str = "auto", level: str = "info", secrets: Iterable[str] = ()) -> None:
    """Our events straight from structlog to stderr; library records (uvicorn) through logging, rendered alike.

    Our own events skip the standard library's logging machinery: 40 µs an
    event through it, 10 µs direct (issue 9's profile), and a request logs a few.
    """
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        SecretScrubber(secrets),
    ]
    binary = getattr(sys.stderr, "buffer", None)
    factory: Any
    if as_json and binary is not None:
        renderer: Any = structlog.processors.JSONRenderer(serializer=json_bytes)
        factory = structlog.BytesLoggerFactory(binary)
    else:
        renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
        factory = structlog.WriteLoggerFactory(sys.stderr)
    with_traceback = structlog.processors.format_exc_info if as_json else structlog.dev.set_exc_info
    structlog.configure(
        processors=[*shared, with_traceback, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=factory,
        cache_logger_on_first_use=False,  # a reconfigured app (new secrets, level) must take effect everywhere
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                with_traceback,
                structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "alembic"):  # alembic: two INFO lines per start, through stdlib logging
        logging.getLogger(noisy).setLevel(logging.WARNING)


def json_bytes(event: Any, **_: Any) -> bytes:
    """One event as JSON (msgspec); values it does not know are written as their ``str``."""
    return msgspec.json.encode(event, enc_hook=str)


def request_log_middleware(app: ASGIApp) -> ASGIApp:
    """Binds a request id, answers it in ``X-Request-ID``, and logs one event per request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"")
        request_id = given.decode("latin-1")[:64] or f"{ID_PREFIX}{next(request_numbers):08x}"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        responded = False
        metrics.IN_FLIGHT.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        except asyncio.CancelledError:  # the server's shutdown grace ran out: a 503, not uvicorn's traceback
            status = SHUTTING_DOWN.status_code
            if not responded:
                with contextlib.suppress(Exception):
                    await send_error(send_with_id, SHUTTING_DOWN)
        finally:
            seconds = time.perf_counter() - started
            metrics.IN_FLIGHT.dec()
            model = structlog.contextvars.get_contextvars().get("model", "")
            metrics.observe_request(scope["path"], str(model), status, seconds)
            log.info(
                "request.completed",
                method=scope["method"],
                path=scope["path"],
                status=status,
                latency_ms=round(seconds * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()

    return middleware
