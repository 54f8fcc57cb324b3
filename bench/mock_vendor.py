"""A fast mock image vendor: a raw asyncio Protocol on httptools' C parser, HTTP/1.1 keep-alive, no framework.

It costs little CPU per request, so a load run measures the gateway rather than the vendor.

    python bench/mock_vendor.py --port 9200 --latency 0.1

- ``POST /v1/images/generations``         waits ``--latency`` s, then ``{"data": [{"url": ".../files/image.png"}]}``
- ``GET  /files/image.png``               a ~100 KB PNG of random noise, no latency
- ``POST /bomb/v1/images/generations``    a url to ``/files/bomb.png``: ``Content-Encoding: gzip, gzip`` over a PNG
                                          header + 1 GiB of zeros (a few KB on the wire)
- ``POST /huge/v1/images/generations``    ``b64_json`` of a PNG header + 150 MB of padding (built on first use)
- ``POST /chat-odd/chat/completions``     a chat reply whose ``message.images`` is the number 5

Every response has a Content-Length; ``Connection: close`` (and HTTP/1.0 without keep-alive) is honoured.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import random
import struct
import zlib
from dataclasses import dataclass, field

import httptools
from PIL import Image

CHUNK = 1 << 20
BOMB_ZEROS = 1 << 30
HUGE_PADDING = 150 * 1000 * 1000
GENERATION_PATHS = frozenset({"/v1/images/generations", "/bomb/v1/images/generations", "/huge/v1/images/generations"})
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Request:
    method: str
    path: str
    keep_alive: bool
    http_10: bool


def tiny_png() -> bytes:
    """An 8x8 PNG: the 'PNG header' the hostile payloads start with."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def noise_png(side: int = 184) -> bytes:
    """A PNG of random pixels (incompressible): 184x184 RGB is about 100 KB."""
    pixels = random.Random(0).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def gzip_of_zeros(prefix: bytes, zeros: int) -> bytes:
    """gzip(prefix + ``zeros`` zero bytes), built from one compressed MiB repeated: after a full flush
    deflate starts afresh on a byte boundary, so every MiB of zeros compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    count, rest = divmod(zeros, CHUNK)
    assert rest == 0, "zeros must be a whole number of MiB"
    crc = zlib.crc32(prefix)
    zero_chunk = bytes(CHUNK)
    for _ in range(count):
        crc = zlib.crc32(zero_chunk, crc)
    size = (len(prefix) + zeros) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + block * count + tail + struct.pack("<II", crc, size)


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def huge_reply(png: bytes) -> bytes:
    """``{"data": [{"b64_json": ...}]}`` around a PNG header followed by 150 MB of zeros."""
    encoded = base64.b64encode(png + bytes(HUGE_PADDING))
    return b'{"created": 0, "data": [{"b64_json": "' + encoded + b'"}]}'


@dataclass
class MockVendor:
    """The answers, computed once; ``respond`` picks one per request."""

    port: int
    latency: float
    image: bytes = field(default_factory=noise_png)
    small: bytes = field(default_factory=tiny_png)
    bomb: bytes = b""
    _huge: asyncio.Task[bytes] | None = None

    def __post_init__(self) -> None:
        self.bomb = gzip_bytes(gzip_of_zeros(self.small, BOMB_ZEROS))

    def url_reply(self, name: str) -> Response:
        body = {"created": 0, "data": [{"url": f"http://127.0.0.1:{self.port}/files/{name}"}]}
        return Response(200, "application/json", json.dumps(body).encode())

    def immediate(self, method: str, path: str) -> Response | None:
        """The answer when no waiting is needed; None for the ones that wait (latency, the lazy huge reply)."""
        if method == "GET" and path == "/files/image.png":
            return Response(200, "image/png", self.image)
        if method == "GET" and path == "/files/bomb.png":
            return Response(200, "image/png", self.bomb, (("Content-Encoding", "gzip, gzip"),))
        if method == "POST" and path == "/chat-odd/chat/completions":
            message = {"role": "assistant", "content": "here it is", "images": 5}
            body = {"id": "odd", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}
            return Response(200, "application/json", json.dumps(body).encode())
        if method == "POST" and path in GENERATION_PATHS:
            if self.latency > 0 or (path.startswith("/huge/") and not self.huge_ready()):
                return None
            return self.generation(path)
        return Response(404, "application/json", b'{"error": {"message": "no such path"}}')

    def generation(self, path: str) -> Response:
        if path.startswith("/bomb/"):
            return self.url_reply("bomb.png")
        if path.startswith("/huge/"):
            assert self._huge is not None
            return Response(200, "application/json", self._huge.result())
        return self.url_reply("image.png")

    def huge_ready(self) -> bool:
        return self._huge is not None and self._huge.done()

    async def delayed(self, path: str) -> Response:
        """A generation answer after the latency (and after the huge reply is built, once)."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if path.startswith("/huge/"):
            if self._huge is None:
                self._huge = asyncio.ensure_future(asyncio.to_thread(huge_reply, self.small))
            await self._huge
        return self.generation(path)


def head_of(response: Response, request: Request) -> bytes:
    lines = [
        f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'OK')}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
    ]
    lines += [f"{name}: {value}" for name, value in response.headers]
    if not request.keep_alive:
        lines.append("Connection: close")
    elif request.http_10:
        lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class VendorProtocol(asyncio.Protocol):
    """One client connection: parse with httptools, answer in order, keep alive unless told not to."""

    def __init__(self, vendor: MockVendor) -> None:
        self.vendor = vendor
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.pending: asyncio.Task[None] | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        path = httptools.parse_url(self.url).path.decode("latin-1")
        request = Request(
            self.parser.get_method().decode(),
            path,
            self.parser.should_keep_alive(),
            self.parser.get_http_version() == "1.0",
        )
        ready = self.vendor.immediate(request.method, path) if self.pending is None else None
        if ready is not None and len(ready.body) <= CHUNK:
            self.write(request, ready)
            return
        self.pending = asyncio.ensure_future(self.answer_later(request, self.pending))

    async def answer_later(self, request: Request, previous: asyncio.Task[None] | None) -> None:
        """Answer after the previous answer on this connection, waiting for latency or flow control."""
        if previous is not None:
            await previous
        response = self.vendor.immediate(request.method, request.path)
        if response is None:
            response = await self.vendor.delayed(request.path)
        if self.closed:
            return
        assert self.transport is not None
        self.transport.write(head_of(response, request))
        view = memoryview(response.body)
        for start in range(0, len(view), CHUNK):
            await self.writable.wait()
            if self.closed:
                return
            self.transport.write(view[start : start + CHUNK])
        self.finish(request)
        if self.pending is asyncio.current_task():
            self.pending = None

    def write(self, request: Request, response: Response) -> None:
        assert self.transport is not None
        self.transport.write(head_of(response, request) + response.body)
        self.finish(request)

    def finish(self, request: Request) -> None:
        if not request.keep_alive and self.transport is not None:
            self.transport.close()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.writable.set()


async def serve(host: str, port: int, latency: float) -> None:
    """Serve until the process is stopped."""
    vendor = MockVendor(port=port, latency=latency)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: VendorProtocol(vendor), host, port, backlog=8192, reuse_address=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each generation call waits")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.latency))


if __name__ == "__main__":
    main()
