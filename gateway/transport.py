"""httpx clients over aiohttp's connection pool, with a bounded queue per origin and bounded decoding.

httpcore 1.0.9's pool re-runs ``_assign_requests_to_connections`` on every
request arrival and every response close, and that scan is quadratic in the
pool's connections: at 100 concurrent vendor calls it was 42% of the event
loop, at 1,000 a livelock (py-spy, issue 9). aiohttp's connector hands out
idle connections from a per-host deque in constant time and parses with a C
parser. The httpx API stays, because the adapters and pytest-httpx speak it:
``PooledTransport`` is httpx's own ``AsyncHTTPTransport`` (pytest-httpx still
mocks it) whose ``_pool`` is an ``AiohttpPool`` answering httpcore's
``handle_async_request``.

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
import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver
from yarl import URL

from gateway.addresses import AddressGuard, GuardedResolver
from providers.http import OriginBusy

PIECE_BYTES = 64 * 1024
HEADER_LIMIT = 16 * 1024
INFLATE_BITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
DROPPED_WHEN_DECODED = frozenset({b"content-encoding", b"content-length"})

# aiohttp's exceptions as httpcore's, most specific first; httpx maps those to its own.
AIOHTTP_ERRORS: tuple[tuple[type[BaseException], type[httpcore.NetworkError | httpcore.TimeoutException]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpcore.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpcore.ReadTimeout),
    (aiohttp.ClientConnectorError, httpcore.ConnectError),
    (aiohttp.ServerDisconnectedError, httpcore.ReadError),
    (aiohttp.ClientPayloadError, httpcore.ReadError),
    (aiohttp.ClientResponseError, httpcore.ReadError),
    (aiohttp.ClientError, httpcore.NetworkError),
)


@contextlib.contextmanager
def aiohttp_errors_as_httpcore() -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as error:
        for source, target in AIOHTTP_ERRORS:
            if isinstance(error, source):
                raise target(str(error) or type(error).__name__) from error
        raise


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


class ResponseBody:
    """A response body as httpcore streams it; closing it hands the connection back and frees the origin's slot."""

    def __init__(self, response: aiohttp.ClientResponse, gate: OriginGate, decoder: Inflater | None) -> None:
        self._response = response
        self._gate = gate
        self._decoder = decoder
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with aiohttp_errors_as_httpcore():
            async for chunk in self._response.content.iter_chunked(PIECE_BYTES):
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
        if self._response.content.at_eof():
            self._response.release()  # read to the end: the connection goes back to the pool
        else:
            self._response.close()  # unread bytes on the wire: the connection cannot be reused
        self._gate.release()


class AiohttpPool:
    """What ``httpx.AsyncHTTPTransport`` asks of its pool, answered by an aiohttp session.

    The session is made on first use (aiohttp wants a running loop). With a
    ``guard``, hosts that are forbidden addresses are refused before anything
    is sent (aiohttp does not resolve IP literals), and names are resolved by
    the guard (``GuardedResolver``), so connections go only to checked addresses.
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
        self._gates: dict[tuple[bytes, bytes, int | None], OriginGate] = {}
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver: AbstractResolver | None = None if self._guard is None else GuardedResolver(self._guard)
            connector = aiohttp.TCPConnector(
                limit=0,  # the per-origin gates limit connections
                ssl=self._ssl_context,
                keepalive_timeout=self._keepalive_expiry,
                resolver=resolver,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # decoded here, in bounded pieces
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                max_line_size=HEADER_LIMIT,
                max_field_size=HEADER_LIMIT,
            )
        return self._session

    def _gate(self, origin: httpcore.Origin) -> OriginGate:
        key = (origin.scheme, origin.host, origin.port)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = OriginGate(self._max_active, self._max_waiting)
        return gate

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        host = request.url.host.decode("ascii")
        if self._guard is not None:
            self._guard.check_literal(host)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        gate = self._gate(request.url.origin)
        await gate.acquire(timeouts.get("pool"))
        try:
            response = await self._send(request, timeouts)
        except BaseException:
            gate.release()
            raise
        try:
            decoder = content_decoder(response.headers.getall("Content-Encoding", []))
        except httpx.DecodingError:
            response.close()
            gate.release()
            raise
        headers = list(response.raw_headers)
        if decoder is not None:
            headers = [(name, value) for name, value in headers if name.lower() not in DROPPED_WHEN_DECODED]
        return httpcore.Response(
            response.status,
            headers=headers,
            content=ResponseBody(response, gate, decoder),
            extensions={
                "http_version": b"HTTP/1.0" if response.version == aiohttp.HttpVersion10 else b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def _send(self, request: httpcore.Request, timeouts: dict[str, float | None]) -> aiohttp.ClientResponse:
        url = request.url
        host = url.host.decode("ascii")
        netloc = f"[{host}]" if ":" in host else host
        port = f":{url.port}" if url.port else ""
        target = URL(f"{url.scheme.decode()}://{netloc}{port}{url.target.decode('ascii')}", encoded=True)
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
        with aiohttp_errors_as_httpcore():
            return await self._session_now().request(
                request.method.decode("ascii"),
                target,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeouts.get("connect"), sock_read=timeouts.get("read")
                ),
            )

    async def __aenter__(self) -> AiohttpPool:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One context for every client: loading the CA bundle is slow, so it is done once per process."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context(trust_env=False)
    return _ssl_context


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over an ``AiohttpPool`` (so pytest-httpx, which patches this class, still mocks it)."""

    def __init__(self, pool: AiohttpPool) -> None:
        super().__init__(verify=shared_ssl_context(), trust_env=False)
        self._pool = pool  # type: ignore[assignment]


def pooled_client(
    *,
    max_active: int,
    max_waiting: int,
    timeout: httpx.Timeout,
    guard: AddressGuard | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose connections come from an ``AiohttpPool`` with these per-origin bounds."""
    pool = AiohttpPool(ssl_context=shared_ssl_context(), max_active=max_active, max_waiting=max_waiting, guard=guard)
    return httpx.AsyncClient(transport=PooledTransport(pool), timeout=timeout, trust_env=False, headers=headers)
