"""The file store's size cap: least recently served images go first, and the order survives a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.media import PNG, FileStore, StoredImage
from tests.support.images import png

BLOB = 1000


def picture(n: int) -> bytes:
    """Distinct PNG-looking payloads of exactly BLOB bytes, so sizes add up simply."""
    head = png()[:8] + f"{n:08d}".encode()
    return head + b"\0" * (BLOB - len(head))


def stored_names(root: Path) -> set[str]:
    return {path.name for path in root.glob("??/*") if not path.name.startswith(".")}


async def put(store: FileStore, n: int) -> StoredImage:
    return await store.put(picture(n), PNG)


async def test_the_least_recently_served_image_is_evicted_first(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=3 * BLOB)
    a, b, c = [await put(store, n) for n in range(3)]
    assert await store.get(a.name) is not None  # a is now more recent than b
    d = await put(store, 3)
    assert stored_names(tmp_path) == {a.name, c.name, d.name}
    assert await store.get(b.name) is None
    assert store.total_bytes == 3 * BLOB
    e = await put(store, 4)  # c is now the least recently used
    assert stored_names(tmp_path) == {a.name, d.name, e.name}


async def test_storing_an_image_again_counts_as_a_use(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=2 * BLOB)
    a, b = await put(store, 0), await put(store, 1)
    await put(store, 0)
    c = await put(store, 2)
    assert stored_names(tmp_path) == {a.name, c.name}
    assert b.name not in stored_names(tmp_path)


async def test_the_order_and_the_total_survive_a_restart(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=3 * BLOB)
    a, b, _ = [await put(store, n) for n in range(3)]
    await store.get(a.name)
    await store.get(b.name)  # least recent now: c, then a, then b

    reopened = FileStore(tmp_path, max_bytes=3 * BLOB)
    assert reopened.total_bytes == 3 * BLOB
    d = await put(reopened, 3)
    assert stored_names(tmp_path) == {a.name, b.name, d.name}
    e = await put(reopened, 4)
    assert stored_names(tmp_path) == {b.name, d.name, e.name}


async def test_a_lower_cap_after_a_restart_evicts_at_startup(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=10 * BLOB)
    images = [await put(store, n) for n in range(4)]
    FileStore(tmp_path, max_bytes=2 * BLOB)
    assert stored_names(tmp_path) == {images[2].name, images[3].name}


async def test_an_image_larger_than_the_cap_is_still_kept_until_the_next_one(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=BLOB // 2)
    a = await put(store, 0)
    assert await store.get(a.name) is not None  # a link handed out is never dead on arrival
    b = await put(store, 1)
    assert stored_names(tmp_path) == {b.name}


async def test_concurrent_writes_of_one_image_store_it_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path, max_bytes=10 * BLOB)
    results = await asyncio.gather(*(put(store, 7) for _ in range(32)))
    assert len({image.name for image in results}) == 1
    assert stored_names(tmp_path) == {results[0].name}
    assert store.total_bytes == BLOB
    assert list(tmp_path.glob("??/.tmp-*")) == []
    found = await store.get(results[0].name)
    assert found is not None and found[0] == picture(7)


async def test_signed_links_remember_their_stored_copy_across_restarts(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    image = await put(store, 1)
    await store.remember_link("0" * 32, image.name)
    assert await FileStore(tmp_path).linked("0" * 32) == image.name
    assert await FileStore(tmp_path).linked("1" * 32) is None
    assert FileStore(tmp_path).total_bytes == BLOB  # link records are not images
