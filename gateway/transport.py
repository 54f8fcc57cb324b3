"""httpx clients over our own connection pool, with a bounded queue per origin and bounded decoding.

httpcore 1.0.9's pool re-runs ``_assign_requests_to_connections`` on every
request arrival and every response close, and that scan is quadratic in the
pool's connections: at 100 concurrent vendor calls it was 42% of the event
loop, at 1,000 a livelock (py-spy, issue 9). ``Http11Pool`` hands out idle
connections per origin in constant time (``gateway.connections`` speaks
HTTP/1.1 over them with httptools' C parser). The httpx API stays, because
the adapters and pytest-httpx speak it: ``PooledTransport`` is httpx's own
``AsyncHTTPTransport`` (pytest-httpx still mocks it) whose ``_pool`` is an
``Http11Pool`` answering httpcore's ``handle_async_request``, and
``LeanClient`` skips the client layers the gateway never uses.

Also decided here, for every outbound call:

- **Per-origin limits**: at most ``max_active`` requests in flight to one
  scheme/host/port, at most ``max_waiting`` waiting for a slot (no longer than
  the pool timeout); past that ``OriginBusy`` at once, never a hang.
- **Decoding**: at most one ``gzip`` or ``deflate`` layer, inflated in pieces
  of ``PIECE_BYTES`` as the reader asks for them, so a caller that counts
  bytes stops a decompression bomb after its cap, not after a gigabyte.
  Stacked or unknown encodings are refused (``httpx.DecodingError``).
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator, Iterator

import httpcore
import httpx
from httpx._exceptions import request_context

from gateway.addresses import AddressGuard
from gateway.connections import Http11Connection, Timeouts, open_connection
from providers.http import OriginBusy

PIECE_BYTES = 64 * 1024
INFLATE_BITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
DROPPED_WHEN_DECODED = frozenset({b"content-encoding", b"content-length"})


class OriginGate:
    """At most ``max_active`` requests to one origin at once, and at most ``max_waiting`` queued behind them."""

    def __init__(self, max_active: int, max_waiting: int) -> None:
        self._slots = asyncio.Semaphore(max_active)
        self._max_waiting = max_waiting
        self._waiting = 0

    async def acquire(self, timeout: float | None) -> None:  # noqa: ASYNC109 (httpx's pool timeout)
        if not self._slots.locked():
            await self._slots.acquire()
            return
        if self._waiting >= self._max_waiting:
            raise OriginBusy(f"{self._waiting} requests are already waiting for this host")
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpcore.PoolTimeout("no connection to this host came free in time") from None
        finally:
            self._waiting -= 1

    def release(self) -> None:
        self._slots.release()


class Inflater:
    """One gzip or deflate layer, inflated at most ``PIECE_BYTES`` at a time."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._inflate = zlib.decompressobj(INFLATE_BITS[encoding])
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            piece = self._inflate.decompress(data, PIECE_BYTES)
        except zlib.error:
            if not (self._first and self._encoding == "deflate"):
                raise httpx.DecodingError(f"the {self._encoding} body is corrupt") from None
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate sent raw, without the zlib header
            piece = self._inflate.decompress(data, PIECE_BYTES)
        self._first = False
        yield piece
        while self._inflate.unconsumed_tail:
            yield self._inflate.decompress(self._inflate.unconsumed_tail, PIECE_BYTES)


def content_decoder(encodings: list[str]) -> Inflater | None:
    """The decoder a response's ``Content-Encoding`` needs: none, or one gzip/deflate layer; anything else refused."""
    layers = [name.strip().lower() for value in encodings for name in value.split(",")]
    layers = [name for name in layers if name and name != "identity"]
    if not layers:
        return None
    if len(layers) > 1:
        raise httpx.DecodingError(f"stacked content encodings are refused ({', '.join(layers)})")
    if layers[0] not in INFLATE_BITS:
        raise httpx.DecodingError(f"the content encoding '{layers[0]}' is not supported")
    return Inflater(layers[0])


Origin = tuple[bytes, str, int]
"""Scheme, host, port: what one gate and one set of idle connections belong to."""


class ResponseBody:
    """A response body as httpcore streams it; closing it hands the connection back and frees the origin's slot."""

    def __init__(
        self,
        connection: Http11Connection,
        pool: Http11Pool,
        origin: Origin,
        gate: OriginGate,
        decoder: Inflater | None,
        read_timeout: float | None,
    ) -> None:
        self._connection = connection
        self._pool = pool
        self._origin = origin
        self._gate = gate
        self._decoder = decoder
        self._read_timeout = read_timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._connection.body(self._read_timeout):
            if self._decoder is None:
                yield chunk
                continue
            for piece in self._decoder.feed(chunk):
                if piece:
                    yield piece

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.put_back(self._origin, self._connection)
        self._gate.release()


class Http11Pool:
    """What ``httpx.AsyncHTTPTransport`` asks of its pool: per-origin gates over reusable HTTP/1.1 connections.

    Idle connections wait per origin, newest reused first, each closed after
    ``keepalive_expiry`` seconds unused; one the server closed is never
    reused. With a ``guard``, hosts that are forbidden addresses are refused
    before anything is sent, and names are resolved by the guard, so
    connections go only to checked addresses.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_active: int,
        max_waiting: int,
        keepalive_expiry: float = 5.0,
        guard: AddressGuard | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_active = max_active
        self._max_waiting = max_waiting
        self._keepalive_expiry = keepalive_expiry
        self._guard = guard
        self._gates: dict[Origin, OriginGate] = {}
        self._idle: dict[Origin, list[Http11Connection]] = {}

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        host = url.host.decode("ascii")
        if self._guard is not None:
            self._guard.check_literal(host)
        origin = (url.scheme, host, url.port or (443 if url.scheme == b"https" else 80))
        timeouts: Timeouts = request.extensions.get("timeout", {})
        gate = self._gates.get(origin)
        if gate is None:
            gate = self._gates[origin] = OriginGate(self._max_active, self._max_waiting)
        await gate.acquire(timeouts.get("pool"))
        connection: Http11Connection | None = None
        try:
            connection = self._idle_connection(origin) or await open_connection(
                scheme=url.scheme,
                host=host,
                port=origin[2],
                ssl_context=self._ssl_context,
                guard=self._guard,
                connect_timeout=timeouts.get("connect"),
            )
            head = await connection.send(request, timeouts)
            headers = head.headers
            decoder = content_decoder(
                [value.decode("latin-1") for name, value in headers if name.lower() == b"content-encoding"]
            )
        except BaseException:
            if connection is not None:
                connection.close()
            gate.release()
            raise
        if decoder is not None:
            headers = [(name, value) for name, value in headers if name.lower() not in DROPPED_WHEN_DECODED]
        return httpcore.Response(
            head.status,
            headers=headers,
            content=ResponseBody(connection, self, origin, gate, decoder, timeouts.get("read")),
            extensions={"http_version": b"HTTP/" + head.version.encode("ascii"), "reason_phrase": head.reason},
        )

    def _idle_connection(self, origin: Origin) -> Http11Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                connection.reuse()
                return connection
        return None

    def put_back(self, origin: Origin, connection: Http11Connection) -> None:
        """Keep a connection whose response was read to its end for the next request; close any other."""
        reusable = connection.reusable
        connection.finish()
        if not reusable:
            connection.close()
            return
        connection.expire_after(self._keepalive_expiry)
        idle = self._idle.setdefault(origin, [])
        if len(idle) > self._max_active:  # only closed ones can pile up past the limit
            idle[:] = [kept for kept in idle if not kept.closed]
        idle.append(connection)

    async def __aenter__(self) -> Http11Pool:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        await asyncio.sleep(0)  # the closed sockets' callbacks run: servers see the connections end now


_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One context for every client: loading the CA bundle is slow, so it is done once per process."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context(trust_env=False)
    return _ssl_context


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over an ``Http11Pool`` (so pytest-httpx, which patches this class, still mocks it)."""

    def __init__(self, pool: Http11Pool) -> None:
        super().__init__(verify=shared_ssl_context(), trust_env=False)
        self._pool = pool  # type: ignore[assignment]


class LeanClient(httpx.AsyncClient):
    """httpx's client without the layers the gateway never uses: auth flows, redirects, cookies, event hooks.

    ``AsyncClient.send`` runs every request through them (the cookie jar alone
    builds two urllib compatibility objects per response); they were a third
    of an outbound call's CPU (``bench/concurrency.py``). Redirects are
    followed by hand where they are allowed (``gateway.fetch``), after the
    next hop is checked, and a vendor's cookies are never sent back: one
    client serves every key and every user. The transport is called as
    httpx calls it, so pytest-httpx mocks it the same way.
    """

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: httpx._types.AuthTypes | httpx._client.UseClientDefault | None = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: bool | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if auth is not httpx.USE_CLIENT_DEFAULT or follow_redirects is True:
            raise ValueError("the gateway's outbound clients send requests as they are: no auth flow, no redirects")
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        with request_context(request=request):
            response = await self._transport.handle_async_request(request)
        response.request = request
        response.default_encoding = self._default_encoding
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


def pooled_client(
    *,
    max_active: int,
    max_waiting: int,
    timeout: httpx.Timeout,
    guard: AddressGuard | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose connections come from an ``Http11Pool`` with these per-origin bounds."""
    pool = Http11Pool(ssl_context=shared_ssl_context(), max_active=max_active, max_waiting=max_waiting, guard=guard)
    return LeanClient(transport=PooledTransport(pool), timeout=timeout, trust_env=False, headers=headers)
