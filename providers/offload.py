"""Work that grows with a payload (JSON decoding, base64, hashing) runs in a worker thread once the payload is large.

One request must never hold the event loop for more than a few milliseconds:
below ``INLINE_BYTES`` the work takes well under a millisecond and a thread
hop would cost more than it saves; above it, the work moves off the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio.to_thread

INLINE_BYTES = 256 * 1024

T = TypeVar("T")
Args = TypeVarTuple("Args")


async def sized(size: int, work: Callable[[*Args], T], *args: *Args) -> T:
    """``work(*args)``: here for a payload of at most INLINE_BYTES, else in a worker thread."""
    if size <= INLINE_BYTES:
        return work(*args)
    return await anyio.to_thread.run_sync(work, *args)
