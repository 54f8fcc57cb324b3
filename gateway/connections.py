"""Outbound HTTP/1.1 connections on httptools' C parser: the wire under ``gateway.transport``'s pool.

aiohttp's session did this job at about 100 us of CPU per call (cookie jars,
tracing hooks, per-request timer objects, its own URL and header types) and
httpx's layers on top of it doubled that; here a call is a write, a parse in
C and a few future hand-offs (``bench/concurrency.py``). It speaks only what
vendors and image hosts need: one request at a time per connection,
keep-alive, Content-Length, chunked and close-delimited bodies, TLS through
asyncio's SSL transport, and httpcore's exceptions for every failure (httpx
maps those to its own).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpcore
import httptools

from gateway.addresses import AddressGuard
from gateway.pacing import pacer_for

HEADER_LIMIT = 16 * 1024
# Reading from a socket pauses while this much of a body is parsed but not yet read.
PAUSE_READING_AT = 256 * 1024
RESUME_READING_AT = 64 * 1024

Timeouts = dict[str, float | None]


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """What arrived before the body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    reason: bytes
    version: str


class Http11Connection(asyncio.Protocol):
    """One connection, one request at a time; the response body is buffered only up to ``PAUSE_READING_AT``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._expecting = False  # a request was sent and its response has not ended
        self._head: ResponseHead | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._reason = b""
        self._eof_ends_body = False
        self._keep_alive = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._reading_paused = False
        self._complete = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._news_queued = False  # the waiter's wake-up waits its turn in the loop's pacer
        self._writable: asyncio.Future[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._expecting:
            self.close()  # bytes nobody asked for: the connection's framing can no longer be trusted
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpcore.RemoteProtocolError("the server switched protocols"))
        except httptools.HttpParserError as error:
            cause = error.__context__
            if isinstance(cause, httpcore.RemoteProtocolError):
                self._fail(cause)
            else:
                self._fail(httpcore.RemoteProtocolError(f"malformed response: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._expiry is not None:
            self._expiry.cancel()
        self.resume_writing()
        if not self._expecting or self._complete:
            return
        if self._head is not None and self._eof_ends_body and self._error is None:
            self._complete = True  # a body without a length ends when the connection does
            self._wake()
        else:
            self._fail(httpcore.ReadError("the server closed the connection before the response ended"))

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._headers = []
        self._header_bytes = 0
        self._reason = b""

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > HEADER_LIMIT:
            raise httpcore.RemoteProtocolError(f"the response headers are larger than {HEADER_LIMIT} bytes")
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            return  # an interim response (100 Continue, 103 Early Hints): the real one follows
        lowered = {name.lower() for name, _ in self._headers}
        self._eof_ends_body = b"content-length" not in lowered and b"transfer-encoding" not in lowered
        self._keep_alive = self._parser.should_keep_alive()  # llhttp forgets it once the message is complete
        self._head = ResponseHead(status, self._headers, self._reason, self._parser.get_http_version())
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > PAUSE_READING_AT and not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:
            return
        self._complete = True
        self._wake()

    # the request/response cycle

    async def send(self, request: httpcore.Request, timeouts: Timeouts) -> ResponseHead:
        """Write ``request`` and wait for the response's head; the body is read with ``body``."""
        self._expecting = True
        self._complete = False
        self._eof_ends_body = False
        self._head = None
        await self._write_request(request, timeouts.get("write"))
        while self._head is None:
            if self._error is not None:
                raise self._error
            await self._wait(timeouts.get("read"))
        head = self._head
        if request.method == b"HEAD":
            self._complete = True  # no body follows, whatever Content-Length says
            self.close()  # httptools cannot be told a HEAD's response has no body: not reused
        return head

    async def body(self, read_timeout: float | None) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._reading_paused and self._buffered < RESUME_READING_AT and self._transport is not None:
                    self._reading_paused = False
                    self._transport.resume_reading()
                yield chunk
            elif self._error is not None:
                raise self._error
            elif self._complete:
                return
            else:
                await self._wait(read_timeout)

    @property
    def reusable(self) -> bool:
        """Whether the last response was read to its end on a connection both sides keep open."""
        return self._complete and not self.closed and self._error is None and self._keep_alive

    def finish(self) -> None:
        """The response is done with: from here on, bytes from the server are unexpected."""
        self._expecting = False
        self._head = None
        self._chunks.clear()
        self._buffered = 0

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def expire_after(self, seconds: float) -> None:
        """Close this idle connection if nobody reuses it within ``seconds``."""
        self._expiry = self._loop.call_later(seconds, self.close)

    def reuse(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    async def _write_request(self, request: httpcore.Request, write_timeout: float | None) -> None:
        assert self._transport is not None
        chunked = False
        lines = [b"%s %s HTTP/1.1\r\n" % (request.method, request.url.target)]
        for name, value in request.headers:
            if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name or b":" in name:
                raise httpcore.LocalProtocolError(f"the header {name!r} has characters HTTP does not allow")
            if name.lower() == b"transfer-encoding" and value.lower() == b"chunked":
                chunked = True
            lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"\r\n")
        head = b"".join(lines)
        first = True
        async for part in request.stream:  # type: ignore[union-attr]
            if chunked and part:
                part = b"%x\r\n%s\r\n" % (len(part), part)
            self._transport.write(head + part if first else part)
            first = False
            await self._drained(write_timeout)
        if first:
            self._transport.write(head)
        if chunked:
            self._transport.write(b"0\r\n\r\n")
        await self._drained(write_timeout)

    async def _drained(self, write_timeout: float | None) -> None:
        if self._writable is not None:
            try:
                async with asyncio.timeout(write_timeout):
                    await self._writable
            except TimeoutError:
                self.close()
                raise httpcore.WriteTimeout("the server did not take the request body in time") from None
        if self.closed and self._error is None:
            raise httpcore.WriteError("the server closed the connection while the request was sent")

    async def _wait(self, read_timeout: float | None) -> None:
        """Until the parser or the connection has news; ``ReadTimeout`` (and the connection closed) if none comes."""
        waiter = self._waiter = self._loop.create_future()
        timer = None if read_timeout is None else self._loop.call_later(read_timeout, self._time_out, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None

    def _time_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done() and not self._news_queued:
            self._fail(httpcore.ReadTimeout("the server did not answer in time"))

    def _wake(self) -> None:
        """Wake the reader, paced (``gateway.pacing``): a vendor answering thousands at once must not fill one turn."""
        if not self._news_queued and self._waiter is not None:
            self._news_queued = True
            pacer_for(self._loop).call(self._deliver_news)

    def _deliver_news(self) -> None:
        self._news_queued = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()
        self.close()


async def open_connection(
    *,
    scheme: bytes,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext,
    guard: AddressGuard | None,
    connect_timeout: float | None,
) -> Http11Connection:
    """A new connection to ``host``; with a guard, only to addresses it resolved and checked."""
    loop = asyncio.get_running_loop()
    tls = ssl_context if scheme == b"https" else None
    try:
        async with asyncio.timeout(connect_timeout):
            targets = [host] if guard is None else [str(address) for address in await guard.resolve(host, port)]
            failure: OSError | None = None
            for target in targets:
                try:
                    _, connection = await loop.create_connection(
                        lambda: Http11Connection(loop),
                        target,
                        port,
                        ssl=tls,
                        server_hostname=host if tls is not None else None,  # TLS verifies the name, not the address
                    )
                    return connection
                except OSError as error:
                    failure = error
            raise failure or OSError(f"{host} has no address")
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"connecting to {host}:{port} took too long") from None
    except (OSError, ssl.SSLError) as error:
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {error}") from None
