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
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread
from cachetools import LRUCache

from config import parse_media_store

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

    @property
    def name(self) -> str:
        return f"{self.id}.{self.kind.ext}"


def name_image(data: bytes, kind: ImageKind) -> StoredImage:
    return StoredImage(hashlib.sha256(data).hexdigest()[:32], kind, len(data))


@runtime_checkable
class MediaStore(Protocol):
    """Where re-hosted images live. ``put`` is idempotent; ``get`` takes a name like ``{id}.png``."""

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage: ...

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None: ...


class MemoryStore:
    """Bounded in-process store (least recently used out first): for tests and throwaway runs."""

    def __init__(self, max_bytes: int) -> None:
        self._images: LRUCache[str, bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage:
        image = name_image(data, kind)
        if image.name not in self._images:
            self._images[image.name] = data
        return image

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None:
        match = NAME.match(name)
        data = self._images.get(name) if match else None
        if match is None or data is None:
            return None
        return data, StoredImage(match["id"], KINDS_BY_EXT[match["ext"]], len(data))


class FileStore:
    """Images as files under one directory (``ab/abcdef….png``), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / name[:2] / name

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage:
        image = name_image(data, kind)
        await anyio.to_thread.run_sync(self._write, self._path(image.name), data)
        return image

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None:
        match = NAME.match(name)
        if match is None:
            return None
        data = await anyio.to_thread.run_sync(self._read, self._path(name))
        if data is None:
            return None
        return data, StoredImage(match["id"], KINDS_BY_EXT[match["ext"]], len(data))

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None


def open_store(url: str, *, memory_max_bytes: int) -> MediaStore:
    """The store a ``MEDIA_STORE`` URL names: ``file://DIR`` or ``memory://``."""
    kind, location = parse_media_store(url)
    if kind == "memory":
        return MemoryStore(memory_max_bytes)
    return FileStore(Path(location).expanduser())
