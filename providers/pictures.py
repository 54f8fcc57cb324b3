"""Pillow work adapters share, run in a worker thread by their callers: masks and the demo's edits."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from providers.base import InputImage


def opened(image: InputImage) -> Image.Image:
    return Image.open(io.BytesIO(image.data))


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def paint_where_transparent(mask: InputImage) -> bytes:
    """An OpenAI-style mask (transparent where to edit) as a Stable Diffusion one: white where to paint."""
    with opened(mask) as picture:
        alpha = picture.convert("RGBA").getchannel("A")
    return png_bytes(ImageOps.invert(alpha).convert("RGB"))


def edit_area(mask: InputImage | None, size: tuple[int, int]) -> Image.Image | None:
    """Where an edit may change the picture, as an ``L`` image of ``size`` (255: change); None for everywhere."""
    if mask is None:
        return None
    with opened(mask) as picture:
        alpha = picture.convert("RGBA").getchannel("A")
    return ImageOps.invert(alpha).resize(size)
