"""The offline demo vendor: draws a deterministic picture from the prompt at the requested size.

It lets a fresh checkout run end to end with no vendor account, and gives tests
and benchmarks a real image of a known size. Same prompt, size and seed: same bytes.
An edit is a visible, deterministic change of the input picture (posterized and
tinted where the mask allows, mirrored for a variation, the prompt written on
it), so a test or a user can tell it from a fresh picture.
"""

from __future__ import annotations

import hashlib
import io
import textwrap

import anyio.to_thread
import httpx
from PIL import Image, ImageDraw, ImageFont, ImageOps

from providers.base import Edit, ImageJob, ImageResult
from providers.pictures import edit_area, opened


class DemoPainter:
    size_multiple = 8
    any_seed = True

    def extras(self, vendor_model: str) -> frozenset[str]:
        return frozenset({"seed"})

    def can_edit(self, vendor_model: str) -> bool:
        return True

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        return [ImageResult(data=await anyio.to_thread.run_sync(paint, job, index)) for index in range(job.n)]


def paint(job: ImageJob, index: int = 0) -> bytes:
    """A PNG of ``job.width`` x ``job.height``: a gradient, a few shapes and the prompt, all from its hash."""
    digest = hashlib.sha256(f"{job.prompt}|{job.seed}|{job.variant + index}".encode()).digest()
    if job.edit is not None:
        return paint_edit(job, job.edit, digest)
    width, height = job.width, job.height
    top, bottom = digest[0:3], digest[3:6]
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), tuple(bottom)), Image.new("RGB", (width, height), tuple(top)), gradient
    )
    draw = ImageDraw.Draw(image, "RGBA")
    _shapes(draw, digest, width, height)
    _caption(draw, job.prompt, width, height)
    return _png(image)


def paint_edit(job: ImageJob, edit: Edit, digest: bytes) -> bytes:
    """The input at the job's size, posterized and tinted (where the mask allows), mirrored for a variation."""
    with opened(edit.images[0]) as source:
        original = ImageOps.fit(source.convert("RGB"), (job.width, job.height))
    changed = Image.blend(ImageOps.posterize(original, 2), Image.new("RGB", original.size, tuple(digest[0:3])), 0.4)
    if edit.variation:
        changed = ImageOps.mirror(changed)
    area = edit_area(edit.mask, original.size)
    result = changed if area is None else Image.composite(changed, original, area)
    caption = f"edit: {job.prompt}" if job.prompt else "variation"
    _caption(ImageDraw.Draw(result, "RGBA"), caption, *result.size, top=True)
    return _png(result)


def _shapes(draw: ImageDraw.ImageDraw, digest: bytes, width: int, height: int) -> None:
    unit = min(width, height)
    for shape in range(5):
        b = digest[6 + shape * 5 : 11 + shape * 5]
        x, y = b[0] * width // 255, b[1] * height // 255
        radius = unit // 12 + b[2] * unit // 1024
        color = (b[3], b[4], b[2], 170)
        box = (x - radius, y - radius, x + radius, y + radius)
        if shape % 2:
            draw.ellipse(box, fill=color)
        else:
            draw.rectangle(box, fill=color)


def _caption(draw: ImageDraw.ImageDraw, text: str, width: int, height: int, *, top: bool = False) -> None:
    """The text near the bottom (a fresh picture) or the top (an edit, so an earlier caption stays readable)."""
    unit = min(width, height)
    font = ImageFont.load_default(size=max(12, unit // 28))
    caption = "\n".join(textwrap.wrap(text, width=max(16, width // max(7, unit // 48)))[:4])
    draw.multiline_text(
        (unit // 24, unit // 24 if top else height - unit // 4),
        caption,
        font=font,
        fill=(255, 255, 255, 235),
        stroke_width=max(1, unit // 400),
        stroke_fill=(0, 0, 0, 200),
    )


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()
