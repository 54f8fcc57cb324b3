"""The offline demo vendor: draws a deterministic picture from the prompt at the requested size.

It lets a fresh checkout run end to end with no vendor account, and gives tests
and benchmarks a real image of a known size. Same prompt, size and seed: same bytes.
"""

from __future__ import annotations

import hashlib
import io
import textwrap

import anyio.to_thread
import httpx
from PIL import Image, ImageDraw, ImageFont

from providers.base import ImageJob, ImageResult


class DemoPainter:
    size_multiple = 8
    any_seed = True

    def extras(self, vendor_model: str) -> frozenset[str]:
        return frozenset({"seed"})

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        return [ImageResult(data=await anyio.to_thread.run_sync(paint, job, index)) for index in range(job.n)]


def paint(job: ImageJob, index: int = 0) -> bytes:
    """A PNG of ``job.width`` x ``job.height``: a gradient, a few shapes and the prompt, all from its hash."""
    digest = hashlib.sha256(f"{job.prompt}|{job.seed}|{job.variant + index}".encode()).digest()
    width, height = job.width, job.height
    top, bottom = digest[0:3], digest[3:6]
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), tuple(bottom)), Image.new("RGB", (width, height), tuple(top)), gradient
    )
    draw = ImageDraw.Draw(image, "RGBA")
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
    font = ImageFont.load_default(size=max(12, unit // 28))
    caption = "\n".join(textwrap.wrap(job.prompt, width=max(16, width // max(7, unit // 48)))[:4])
    draw.multiline_text(
        (unit // 24, height - unit // 4),
        caption,
        font=font,
        fill=(255, 255, 255, 235),
        stroke_width=max(1, unit // 400),
        stroke_fill=(0, 0, 0, 200),
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()
