"""Content-addressed storage: naming by content, sniffing by magic bytes, file and memory stores."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.media import AVIF, GIF, JPEG, PNG, WEBP, FileStore, MemoryStore, open_store, sniff
from tests.support.images import jpeg, png


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png(), PNG),
        (jpeg(), JPEG),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", WEBP),
        (b"GIF89a\x01\x00", GIF),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", AVIF),
        (b"<html>not an image</html>", None),
        (b"", None),
    ],
)
def test_sniffing_by_magic_bytes(data: bytes, kind: object) -> None:
    assert sniff(data) == kind


async def test_the_same_bytes_are_stored_once_under_one_name(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = await store.put(png(), PNG)
    second = await store.put(png(), PNG)
    assert first == second
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1
    assert first.name.endswith(".png") and len(first.id) == 32


async def test_the_file_store_survives_a_restart(tmp_path: Path) -> None:
    image = await FileStore(tmp_path).put(jpeg(), JPEG)
    found = await FileStore(tmp_path).get(image.name)
    assert found is not None
    data, again = found
    assert data == jpeg() and again.kind == JPEG


async def test_concurrent_writes_of_one_image_leave_one_whole_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    data = png(256, 256)
    results = await asyncio.gather(*(store.put(data, PNG) for _ in range(20)))
    assert len({r.name for r in results}) == 1
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == data


async def test_names_that_are_not_ours_are_not_looked_up(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("x")
    store = FileStore(tmp_path)
    for name in ("../secret.txt", "secret.txt", "0123456789abcdef0123456789abcdef.exe"):
        assert await store.get(name) is None


async def test_the_memory_store_is_bounded_and_drops_the_least_recently_used() -> None:
    store = MemoryStore(max_bytes=3 * len(png()) + 10)
    red, green, blue, white = (png(color=c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)))
    stored = [await store.put(data, PNG) for data in (red, green, blue)]
    assert await store.get(stored[0].name) is not None  # red is now the most recently used
    await store.put(white, PNG)
    assert await store.get(stored[1].name) is None
    assert await store.get(stored[0].name) is not None


def test_media_store_urls() -> None:
    assert isinstance(open_store("memory://", max_bytes=10), MemoryStore)
    for unsupported in ("gs://bucket", "s3://", "ftp://host/dir", "file://"):
        with pytest.raises(ValueError, match="MEDIA_STORE"):
            open_store(unsupported, max_bytes=10)
