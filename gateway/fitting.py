"""The size and format the client asked for, made true after the vendor answered.

Some vendor models ignore the size (Workers AI's flux-1-schnell always draws
1024x1024); a picture in another size is center-cropped to the asked shape and
resized (``FIT_TO_SIZE``, on by default). ``output_format`` and
``output_compression`` are honoured by converting when the vendor did not.
Both happen in a worker thread, and only when needed: reading a PNG's size
costs a slice of its header, any other kind a header parse.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Literal

import anyio.to_thread
import structlog
from PIL import Image, ImageOps

from gateway.media import AVIF, GIF, JPEG, KINDS_BY_EXT, PNG, WEBP, ImageKind

log = structlog.get_logger("gateway.fitting")

OutputName = Literal["png", "jpeg", "webp"]
KIND_OF_OUTPUT: dict[str, ImageKind] = {"png": PNG, "jpeg": JPEG, "webp": WEBP}
PNG_COMPRESSION = 3
"""zlib level of a re-encoded PNG: a third of the default's time for a few percent more bytes."""
UNFITTED = frozenset({GIF, AVIF})
"""Animated or not decodable here: passed through as the vendor made them."""


@dataclass(frozen=True, slots=True)
class Output:
    """What the client asked the result to be: its size, and a format and compression if it named them."""

    width: int
    height: int
    format: OutputName | None = None
    compression: int | None = None
    """0-100 for JPEG and WebP (OpenAI's ``output_compression``); 100 keeps the most."""


async def fitted(data: bytes, kind: ImageKind, output: Output, *, fit_size: bool) -> tuple[bytes, ImageKind]:
    """``data`` at the asked size (if ``fit_size``) and in the asked format; as it was when it already is."""
    wanted = KIND_OF_OUTPUT[output.format] if output.format else kind
    size = dimensions(data, kind) if fit_size and kind not in UNFITTED else None
    wrong_size = size is not None and size != (output.width, output.height)
    if not wrong_size and wanted == kind:
        return data, kind
    if kind in UNFITTED:
        return data, kind
    result = await anyio.to_thread.run_sync(_convert, data, output, wanted, wrong_size)
    log.info(
        "media.fitted",
        size=f"{size[0]}x{size[1]}" if size else None,
        to=f"{output.width}x{output.height}" if wrong_size else None,
        format=wanted.ext if wanted != kind else None,
    )
    return result, wanted


def dimensions(data: bytes, kind: ImageKind) -> tuple[int, int] | None:
    """Width and height from the header; None when it cannot be read."""
    if kind == PNG and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.size
    except (OSError, ValueError, SyntaxError):
        return None


def _convert(data: bytes, output: Output, kind: ImageKind, resize: bool) -> bytes:
    with Image.open(io.BytesIO(data)) as picture:
        image = picture.copy()
    if resize:
        image = ImageOps.fit(image, (output.width, output.height), method=Image.Resampling.LANCZOS)
    if kind == JPEG and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    if kind == PNG:
        options = {"compress_level": PNG_COMPRESSION}
    else:
        options = {} if output.compression is None else {"quality": max(1, output.compression)}
    image.save(out, format=KINDS_BY_EXT[kind.ext].ext.replace("jpg", "jpeg").upper(), **options)
    return out.getvalue()
