"""Single byte ranges (RFC 9110 §14): what part of an image a ``Range`` header asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(?P<start>\d*)\s*-\s*(?P<end>\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file (answered with 416)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int
    """Inclusive, as in ``Content-Range``."""

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range asked for, clamped to the file; None means "send the whole file".

    A missing or malformed header, or several ranges at once, get the whole
    file: the RFC lets a server ignore Range, and one image is small enough.
    """
    match = SINGLE_RANGE.match(header) if header else None
    if match is None or (not match["start"] and not match["end"]):
        return None
    if not match["start"]:  # "bytes=-500": the last 500 bytes
        suffix = int(match["end"])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else size - 1
    if match["end"] and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(end, size - 1))
