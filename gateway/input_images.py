"""Pictures clients send as input (an edit's source and its mask), checked and stored before a vendor sees them.

A picture arrives as a file (multipart), base64, a ``data:`` URI, an http(s)
link (downloaded under the same address policy as every download) or one of
the gateway's own ``/image-proxy`` links (read from the store, no network
call). Each is bounded (``MEDIA_MAX_BYTES``), must be PNG, JPEG, WebP or GIF
by its magic bytes, and is decoded off the event loop under a pixel cap, so a
decompression bomb is refused before it costs memory. Every input is stored
like an output (content-addressed), so later turns and records can point at it.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import structlog
from PIL import Image, ImageOps, UnidentifiedImageError

from gateway import metrics
from gateway.errors import ApiError, InvalidRequest
from gateway.fetch import FetchRefused, ImageFetcher
from gateway.media import GIF, JPEG, PNG, WEBP, ImageTooLarge, MediaStore, sniff
from gateway.prompt import MAX_SIDE, MIN_SIDE, Size, size_for_ratio
from gateway.remote_images import RemoteImages, refusal_error
from providers import InputImage

log = structlog.get_logger("gateway.input_images")

INPUT_KINDS = frozenset({PNG, JPEG, WEBP, GIF})
MAX_PIXELS = 40_000_000
"""About 6300x6300: more than any vendor takes, far less than a bomb that decodes to gigabytes."""
ASPECT_TOLERANCE = 0.02
DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
OWN_LINK = re.compile(r"/(?P<name>[0-9a-f]{32}\.(?:png|jpg|webp|gif|avif))$")
"""A stored picture's name at the end of a link: ``/image-proxy/{name}``, or the bucket's public address. The name
is the hash of the bytes, so the store's copy is the picture the link shows."""
BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/=_\s-]+$")


class InputPictures:
    def __init__(self, store: MediaStore, fetcher: ImageFetcher, remote: RemoteImages, *, max_bytes: int) -> None:
        self._store = store
        self._fetcher = fetcher
        self._remote = remote
        self._max_bytes = max_bytes

    async def from_bytes(self, data: bytes, *, param: str) -> InputImage:
        """A picture sent as a file: checked, decoded off the loop, stored."""
        if len(data) > self._max_bytes:
            raise InvalidRequest(f"{param} is larger than {self._max_bytes} bytes", param=param)
        kind = sniff(data)
        if kind not in INPUT_KINDS:
            raise InvalidRequest(f"{param} is not a PNG, JPEG, WebP or GIF picture", param=param)
        width, height = await anyio.to_thread.run_sync(_checked_size, data, param)
        try:
            stored = await self._store.put(data, kind)
        except ImageTooLarge as error:
            log.warning("input.not_stored", reason=str(error))
        else:
            metrics.STORED_BYTES.inc(stored.size)
            log.info("input.stored", image=stored.name, param=param, size=f"{width}x{height}")
        return InputImage(data, kind.content_type, width, height)

    async def from_reference(self, reference: str, *, param: str) -> InputImage:
        """A picture named in JSON: base64, a ``data:`` URI, an http(s) link, or one of the gateway's own links."""
        text = reference.strip()
        if text.startswith(("http://", "https://")):
            return await self.from_bytes(await self._download(text, param), param=param)
        if DATA_URI.match(text):
            text = text.split(",", 1)[1]
        if len(text) > self._max_bytes * 4 // 3 + 4:
            raise InvalidRequest(f"{param} is larger than {self._max_bytes} bytes", param=param)
        if not BASE64_CHARS.match(text):
            raise InvalidRequest(f"{param} is not base64, a data: URI or an http(s) link", param=param)
        try:
            data = base64.b64decode("".join(text.split()).replace("-", "+").replace("_", "/") + "==", validate=False)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"{param} is not valid base64", param=param) from None
        return await self.from_bytes(data, param=param)

    async def matching_mask(self, mask: InputImage, image: InputImage) -> InputImage:
        """The mask at the picture's size, with transparency where to edit; a 400 when its shape differs.

        A mask without transparency is read the Stable Diffusion way (white where to edit) and converted.
        """
        same_shape = abs(mask.width / mask.height - image.width / image.height) <= ASPECT_TOLERANCE
        if not same_shape:
            raise InvalidRequest(
                f"the mask is {mask.width}x{mask.height} but the picture is {image.width}x{image.height}: "
                "give them the same size",
                param="mask",
            )
        data = await anyio.to_thread.run_sync(_openai_mask, mask, (image.width, image.height))
        if (mask.width, mask.height) != (image.width, image.height):
            log.info("input.mask_resized", size=f"{mask.width}x{mask.height}", to=f"{image.width}x{image.height}")
        return InputImage(data, PNG.content_type, image.width, image.height)

    async def _download(self, url: str, param: str) -> bytes:
        """A link's bytes: the gateway's own from the store, any other under the download policy."""
        parts = urlsplit(url)
        own = OWN_LINK.search(parts.path)
        if own is not None:
            found = await self._store.get(own["name"])
            if found is not None:
                return found[0]
        query = parse_qs(parts.query)
        if parts.path.endswith("/image-proxy") and "url" in query and "sig" in query:
            data, _ = await self._remote.open(query["url"][0], query["sig"][0])
            return data
        try:
            data, _ = await self._fetcher.fetch(url)
        except FetchRefused as refused:
            error: ApiError = refusal_error(refused)
            error.param = param
            raise error from None
        return data


def _checked_size(data: bytes, param: str) -> tuple[int, int]:
    """The picture's size, after decoding it whole under the pixel cap (in a worker thread)."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise InvalidRequest(f"{param} is {width}x{height}, more than {MAX_PIXELS} pixels", param=param)
            picture.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidRequest(f"{param} could not be decoded as a picture", param=param) from None
    return width, height


def _openai_mask(mask: InputImage, size: tuple[int, int]) -> bytes:
    """``mask`` as a PNG of ``size`` whose transparent pixels are where to edit (in a worker thread)."""
    with Image.open(io.BytesIO(mask.data)) as picture:
        has_alpha = picture.mode in ("RGBA", "LA") or "transparency" in picture.info
        rgba = picture.convert("RGBA")
    alpha = rgba.getchannel("A") if has_alpha else ImageOps.invert(rgba.convert("L"))
    if alpha.size != size:
        alpha = alpha.resize(size)
    result = Image.new("RGBA", size, (0, 0, 0, 255))
    result.putalpha(alpha)
    out = io.BytesIO()
    result.save(out, format="PNG")
    return out.getvalue()


def size_of_input(image: InputImage, multiple: int) -> Size:
    """The input's own size when vendors take it as is, else about a megapixel in its shape."""
    width, height = image.width, image.height
    if all(MIN_SIDE <= side <= MAX_SIDE and side % multiple == 0 for side in (width, height)):
        return width, height
    return size_for_ratio(width, height, {})
