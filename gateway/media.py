"""Content-addressed image storage, so every link the gateway emits stays valid.

An image is named by the hash of its bytes plus the extension its magic bytes
say (``{sha256[:32]}.png``): the same picture is stored once, and a name can be
served forever with an immutable cache header.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread
from cachetools import LRUCache

from config import parse_media_store
from providers.offload import sized

NAME = re.compile(r"^(?P<id>[0-9a-f]{32})\.(?P<ext>png|jpg|webp|gif|avif)$")


@dataclass(frozen=True, slots=True)
class ImageKind:
    content_type: str
    ext: str


PNG = ImageKind("image/png", "png")
JPEG = ImageKind("image/jpeg", "jpg")
WEBP = ImageKind("image/webp", "webp")
GIF = ImageKind("image/gif", "gif")
AVIF = ImageKind("image/avif", "avif")
KINDS_BY_EXT = {kind.ext: kind for kind in (PNG, JPEG, WEBP, GIF, AVIF)}
DEFAULT_MAX_BYTES = {"memory": 256 * 1024 * 1024, "file": 10 * 1024 * 1024 * 1024}
DEFAULT_HOT_BYTES = 64 * 1024 * 1024


def sniff(data: bytes) -> ImageKind | None:
    """The image kind by magic bytes; None when the bytes are not an image we serve."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[4:8] == b"ftyp" and (data[8:12] in (b"avif", b"avis") or b"avif" in data[16:64]):
        return AVIF
    return None


@dataclass(frozen=True, slots=True)
class StoredImage:
    id: str
    kind: ImageKind
    size: int
    url: str | None = None
    """Where the picture is public outside the gateway (``MEDIA_PUBLIC_BASE_URL``); None: ``/image-proxy``."""

    @property
    def name(self) -> str:
        return f"{self.id}.{self.kind.ext}"


def name_image(data: bytes, kind: ImageKind) -> StoredImage:
    return StoredImage(hashlib.sha256(data).hexdigest()[:32], kind, len(data))


def found(name: str, data: bytes | None) -> tuple[bytes, StoredImage] | None:
    """What a store's ``get`` answers: the bytes and the image a served name stands for, if both exist."""
    match = NAME.match(name)
    if data is None or match is None:
        return None
    return data, StoredImage(match["id"], KINDS_BY_EXT[match["ext"]], len(data))


def link_key(url: str) -> str:
    """The key under which a signed remote link's stored copy is remembered."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


class ImageTooLarge(Exception):
    """The store cannot hold this image at all (a memory store smaller than the image)."""


@runtime_checkable
class MediaStore(Protocol):
    """Where re-hosted images live.

    ``put`` is idempotent and safe to call concurrently with the same image
    (ImageTooLarge when the store can never hold it);
    ``get`` takes a name like ``{id}.png``. ``remember_link``/``linked`` map a
    signed remote link to the stored copy fetched on its first hit.
    """

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage: ...

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None: ...

    async def delete(self, name: str) -> None:
        """Remove the picture (a deleted record's file); nothing when it is not there."""
        ...

    async def remember_link(self, key: str, name: str) -> None: ...

    async def linked(self, key: str) -> str | None: ...


class MemoryStore:
    """Bounded in-process store (least recently used out first): for tests and throwaway runs."""

    LINKS_KEPT = 100_000

    def __init__(self, max_bytes: int) -> None:
        self._images: LRUCache[str, bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)
        self._links: LRUCache[str, str] = LRUCache(maxsize=self.LINKS_KEPT)

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage:
        if len(data) > self._images.maxsize:
            raise ImageTooLarge(f"the image ({len(data)} bytes) is larger than the whole memory store")
        image = await sized(len(data), name_image, data, kind)
        if image.name not in self._images:
            self._images[image.name] = data
        return image

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None:
        return found(name, self._images.get(name))

    async def delete(self, name: str) -> None:
        self._images.pop(name, None)

    async def remember_link(self, key: str, name: str) -> None:
        self._links[key] = name

    async def linked(self, key: str) -> str | None:
        return self._links.get(key)


class FileStore:
    """Images as files under one directory (``ab/abcdef….png``), written atomically, capped in total size.

    When the total passes ``max_bytes``, the least recently served images are
    deleted first. "Recently served" is the file's mtime, stamped on every read,
    so the order survives restarts: the index is rebuilt from a directory scan.

    The most recently used images (up to ``hot_bytes``) are also kept in memory:
    a fresh image is usually fetched by its client right after it is made, and
    a hot hit skips the thread hop and the read (twice the throughput in
    ``bench/proxy.py``).
    """

    STALE_TEMP_SECONDS = 3600

    def __init__(
        self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES["file"], hot_bytes: int = DEFAULT_HOT_BYTES
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._hot: LRUCache[str, bytes] = LRUCache(maxsize=max(hot_bytes, 1), getsizeof=len)
        self._lru: OrderedDict[str, int] = OrderedDict()  # name -> bytes, least recently used first
        self._total = 0
        self._last_stamp = 0
        self._scan()

    @property
    def total_bytes(self) -> int:
        return self._total

    def _path(self, name: str) -> Path:
        return self.root / name[:2] / name

    def _link_path(self, key: str) -> Path:
        return self.root / "links" / key[:2] / key

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage:
        image = await sized(len(data), name_image, data, kind)
        with self._lock:
            known = image.name in self._lru
        if known and self._used(image.name, self._path(image.name), data):
            return image  # stored already: a use, stamped here without a thread hop
        await anyio.to_thread.run_sync(self._write, image.name, data)
        return image

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None:
        if NAME.match(name) is None:
            return None
        with self._lock:
            data = self._hot.get(name)
        if data is not None:
            self._used(name, self._path(name), data)
        else:
            data = await anyio.to_thread.run_sync(self._read, name)
        return found(name, data)

    async def delete(self, name: str) -> None:
        if NAME.match(name) is None:
            return
        with self._lock:
            self._total -= self._lru.pop(name, 0)
            self._hot.pop(name, None)
        await anyio.to_thread.run_sync(partial(self._path(name).unlink, missing_ok=True))

    async def remember_link(self, key: str, name: str) -> None:
        await anyio.to_thread.run_sync(atomic_write, self._link_path(key), name.encode())

    async def linked(self, key: str) -> str | None:
        try:
            text = await anyio.to_thread.run_sync(self._link_path(key).read_text)
        except FileNotFoundError:
            return None
        return text.strip() or None

    def _scan(self) -> None:
        """Rebuild the LRU index from the files on disk, oldest stamp first; drop stale temp files."""
        found: list[tuple[int, str, int]] = []
        stale_before = time.time() - self.STALE_TEMP_SECONDS
        for shard in self.root.iterdir():
            if not (shard.is_dir() and len(shard.name) == 2):
                continue
            for entry in os.scandir(shard):
                stat = entry.stat()
                if NAME.match(entry.name):
                    found.append((stat.st_mtime_ns, entry.name, stat.st_size))
                elif entry.name.startswith(".tmp-") and stat.st_mtime < stale_before:
                    Path(entry.path).unlink(missing_ok=True)
        found.sort()
        for stamp, name, size in found:
            self._lru[name] = size
            self._total += size
            self._last_stamp = max(self._last_stamp, stamp)
        with self._lock:
            self._evict(keep=None)

    def _write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        if not path.exists():
            atomic_write(path, data)
        self._used(name, path, data)

    def _read(self, name: str) -> bytes | None:
        path = self._path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            with self._lock:
                self._total -= self._lru.pop(name, 0)
                self._hot.pop(name, None)
            return None
        self._used(name, path, data)
        return data

    def _used(self, name: str, path: Path, data: bytes) -> bool:
        """Mark ``name`` most recently used, on disk (mtime), in the index and the hot set; evict if over the cap.

        False when the file is gone (evicted meanwhile by another replica sharing the directory).
        """
        with self._lock:
            stamp = self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
            if name in self._lru:
                self._lru.move_to_end(name)
            else:
                self._lru[name] = len(data)
                self._total += len(data)
            if len(data) <= self._hot.maxsize:
                self._hot[name] = data
            self._evict(keep=name)
        try:
            os.utime(path, ns=(stamp, stamp))
        except FileNotFoundError:
            return False
        return True

    def _evict(self, keep: str | None) -> None:
        """Delete least recently used images until under the cap (never ``keep``, the one just used)."""
        while self._total > self.max_bytes and self._lru:
            name, size = next(iter(self._lru.items()))
            if name == keep:
                break
            del self._lru[name]
            self._hot.pop(name, None)
            self._total -= size
            self._path(name).unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the whole file or none of it (concurrent writers included)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def open_store(
    url: str,
    *,
    max_bytes: int | None = None,
    hot_bytes: int = DEFAULT_HOT_BYTES,
    endpoint: str | None = None,
    public_base: str | None = None,
) -> MediaStore:
    """The store a ``MEDIA_STORE`` URL names: ``file://DIR`` or ``memory://`` (capped at ``max_bytes``), or
    ``s3://BUCKET/PREFIX`` (at ``endpoint``, public at ``public_base``)."""
    kind, location = parse_media_store(url)
    if kind == "s3":
        from gateway.s3_store import S3Store  # obstore is loaded only by those who store in a bucket

        return S3Store(location, endpoint=endpoint, public_base=public_base, hot_bytes=hot_bytes)
    cap = max_bytes or DEFAULT_MAX_BYTES[kind]
    if kind == "memory":
        return MemoryStore(cap)
    return FileStore(Path(location).expanduser(), cap, hot_bytes)
