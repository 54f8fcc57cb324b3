"""The HTTP server around the app: uvicorn, with bounds on what one client connection may hold.

uvicorn has no deadline for a request's header (a client that sends half a
header and then one byte a second holds its socket forever) and its
``limit_concurrency`` answers plain text. So ``GuardedHttpToolsProtocol``
closes a connection whose header has not arrived within
``HEADER_TIMEOUT_SECONDS`` (also a fresh connection that says nothing), and
answers every request on a connection past ``MAX_CONNECTIONS`` with an
OpenAI-style 503 and ``Connection: close``. Requests start through
``admit``, a bounded number per turn of the event loop (``gateway.pacing``),
so a burst cannot hold the loop for seconds. At start the open-file limit is
raised to the hard limit, since every connection is a file descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import signal
import socket
import time
from typing import Any, ClassVar, Protocol

import structlog
import uvicorn
from litestar import Litestar
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from config import Settings
from gateway.errors import NoCapacity, send_error
from gateway.pacing import pacer_for

log = structlog.get_logger("gateway.server")

OVERLOADED = NoCapacity(
    "the gateway is serving as many connections as it may; retry shortly", retry_after=1.0, code="too_many_connections"
)


async def answer_overloaded(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI answer to a request on a connection past the limit: the 503 in OpenAI's shape.

    uvicorn adds ``Connection: close`` itself, since ``_start_asgi_task`` turned the cycle's keep-alive off.
    """
    await send_error(send, OVERLOADED)


class Closable(Protocol):
    def is_closing(self) -> bool: ...


class Startable(Protocol):
    """What ``admit`` asks of a connection's protocol."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def transport(self) -> Closable: ...

    def start_now(self, cycle: Any, app: Any) -> None: ...


HEALTH_PATHS = ("/health",)


def admit(protocol: Startable, cycle: Any, app: Any) -> None:
    """Start a request through the loop's ``TurnPacer``, a few dozen per turn in arrival order; health checks at once.

    5,000 requests arriving together otherwise all start in one turn: their
    first steps (routing, validation, the vendor call's set-up) ran back to
    back for over a second, and a /health poll waited behind them (longest
    gap 1.4 s, bench/concurrency.py inflight). A request whose client left
    while it waited is not started at all.
    """
    if cycle.scope["path"].startswith(HEALTH_PATHS):
        protocol.start_now(cycle, app)
    else:
        pacer_for(protocol.loop).call(_start_if_open, protocol, cycle, app)


def _start_if_open(protocol: Startable, cycle: Any, app: Any) -> None:
    if not protocol.transport.is_closing():
        protocol.start_now(cycle, app)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, a connection limit and paced starts (``protocol_for``)."""

    header_timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 16384

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._over_limit = len(self.connections) > self.max_connections
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_timed_out(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            log.debug("connection.header_timeout", client=self.client)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()  # a keep-alive connection's next request gets its own deadline

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if self._over_limit:
            cycle.keep_alive = False
            self.start_now(cycle, answer_overloaded)
        else:
            admit(self, cycle, app)

    def start_now(self, cycle: Any, app: Any) -> None:
        super()._start_asgi_task(cycle, app)


def protocol_for(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with this configuration's header deadline and connection limit."""
    return type(
        "ConfiguredHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "header_timeout": settings.header_timeout_seconds,
            "max_connections": settings.max_connections,
        },
    )


def raise_open_file_limit() -> None:
    """Every connection is a file descriptor: take the hard limit, not the usual soft 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log.info("server.open_files_raised", soft_was=soft, now=hard)


def tune_garbage_collector() -> None:
    """Fewer, cheaper collections: what exists at start is frozen out of them, and the young generation is larger.

    Every request allocates thousands of short-lived objects; with the
    default threshold (700) the collector runs every few requests and, with
    more requests in flight, walks ever more live objects each time: CPU per
    request grew from 1.5 ms at 10 concurrent requests to 2.5 ms at 1,000, and
    is 1.7 ms with this (bench/concurrency.py).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def serve(app: Litestar, settings: Settings) -> None:
    """Serve ``app`` in this process, or in ``WORKERS`` forked processes sharing the port (SO_REUSEPORT)."""
    raise_open_file_limit()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # gateway.urls decides whom to believe (TRUSTED_PROXIES)
        # uvloop, if installed, gave a 500 ms p99 serving 1 MB images at concurrency 64 (bench/proxy.py).
        loop="asyncio",
        http=protocol_for(settings),
        timeout_keep_alive=settings.keepalive_timeout_seconds,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        backlog=4096,
    )
    if settings.workers == 1:
        tune_garbage_collector()
        uvicorn.Server(config).run()
        return
    Workers(config, settings.workers).run()


class Workers:
    """N forked processes, each with its own listening socket on the same port (the kernel spreads connections).

    The parent only watches: SIGTERM or SIGINT is passed on to every worker (each
    finishes what it has in flight), and a worker that dies on its own is
    started again, so one crash never takes the port down.
    """

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self._config = config
        self._count = count
        self._children: dict[int, int] = {}
        self._stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self._count):
            self._start(slot)
        log.info("server.workers", count=self._count, pids=sorted(self._children))
        while self._children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if pid not in self._children:
                continue
            slot = self._children.pop(pid)
            if not self._stopping:
                log.error("server.worker_died", pid=pid, status=status, restarting=True)
                time.sleep(0.5)
                self._start(slot)

    def _start(self, slot: int) -> None:
        pid = os.fork()
        if pid:
            self._children[pid] = slot
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        code = 0
        try:
            tune_garbage_collector()
            uvicorn.Server(self._config).run(sockets=[self._listening_socket()])
        except BaseException:
            log.exception("server.worker_failed", slot=slot)
            code = 1
        finally:
            os._exit(code)

    def _listening_socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._config.host else socket.AF_INET
        # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
        # Nagle held every response's second write for the client's delayed ACK (40 ms a request).
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((self._config.host, self._config.port))
        listener.listen(self._config.backlog)
        listener.set_inheritable(True)
        return listener

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = True
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
