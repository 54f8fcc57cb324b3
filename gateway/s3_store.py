"""Pictures in S3-compatible object storage (``MEDIA_STORE=s3://bucket/prefix``): AWS S3, R2, MinIO, Ceph…

obstore (Rust's object_store) is the client: async, small, and it reads the
standard ``AWS_*`` variables for credentials and region; ``S3_ENDPOINT_URL``
names another provider's API. Objects are content-addressed as in the other
stores (``{prefix}/{sha256[:32]}.png``), written once with their content type
and an immutable cache header, so a public bucket or a CDN can serve them as
they are: with ``MEDIA_PUBLIC_BASE_URL`` answers link there instead of
through ``/image-proxy``. Nothing is evicted by size: a bucket lifecycle rule
expires old pictures (see the README). The most recently used pictures are
also kept in memory, as the file store does, since a client fetches a fresh
picture right after it is made.
"""

from __future__ import annotations

import dataclasses

import obstore
import structlog
from cachetools import LRUCache
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store as ObjectStore

from gateway.errors import ApiError
from gateway.media import NAME, ImageKind, StoredImage, found, name_image
from providers.offload import sized

IMMUTABLE = "public, max-age=31536000, immutable"
NAMES_KNOWN = 100_000

log = structlog.get_logger("gateway.s3_store")


class StoreUnavailable(ApiError):
    status_code = 503
    error_type = "api_error"
    code = "media_store_unavailable"


class S3Store:
    def __init__(self, location: str, *, endpoint: str | None, public_base: str | None, hot_bytes: int) -> None:
        bucket, _, prefix = location.partition("/")
        config = {"endpoint": endpoint} if endpoint else {}
        options = {"allow_http": True} if endpoint and endpoint.startswith("http://") else {}
        self._objects = ObjectStore(
            bucket,
            prefix=prefix or None,
            config=config,  # type: ignore[arg-type]
            client_options=options,  # type: ignore[arg-type]
        )
        self._public_base = public_base.rstrip("/") if public_base else None
        self._hot: LRUCache[str, bytes] = LRUCache(maxsize=max(hot_bytes, 1), getsizeof=len)
        self._stored: LRUCache[str, bool] = LRUCache(maxsize=NAMES_KNOWN)

    async def put(self, data: bytes, kind: ImageKind) -> StoredImage:
        image = await sized(len(data), name_image, data, kind)
        if image.name not in self._stored:
            attributes = {"Content-Type": kind.content_type, "Cache-Control": IMMUTABLE}
            try:
                await obstore.put_async(self._objects, image.name, data, attributes=attributes)
            except BaseError as error:
                raise self._unavailable("put", error) from None
            self._stored[image.name] = True
        if len(data) <= self._hot.maxsize:
            self._hot[image.name] = data
        return self._linked(image)

    async def get(self, name: str) -> tuple[bytes, StoredImage] | None:
        if NAME.match(name) is None:
            return None
        data = self._hot.get(name)
        if data is None:
            data = await self._read(name)
        return found(name, data)

    async def delete(self, name: str) -> None:
        if NAME.match(name) is None:
            return
        self._hot.pop(name, None)
        self._stored.pop(name, None)
        try:
            await obstore.delete_async(self._objects, name)
        except (NotFoundError, FileNotFoundError):
            pass
        except BaseError as error:
            raise self._unavailable("delete", error) from None

    async def remember_link(self, key: str, name: str) -> None:
        try:
            await obstore.put_async(self._objects, f"links/{key}", name.encode())
        except BaseError as error:
            raise self._unavailable("put", error) from None

    async def linked(self, key: str) -> str | None:
        data = await self._read(f"links/{key}")
        return data.decode().strip() or None if data is not None else None

    async def _read(self, path: str) -> bytes | None:
        try:
            result = await obstore.get_async(self._objects, path)
            return bytes(await result.bytes_async())
        except (NotFoundError, FileNotFoundError):
            return None
        except BaseError as error:
            raise self._unavailable("get", error) from None

    def _linked(self, image: StoredImage) -> StoredImage:
        """The picture with its public address in the bucket, when there is one."""
        if self._public_base is None:
            return image
        return dataclasses.replace(image, url=f"{self._public_base}/{image.name}")

    @staticmethod
    def _unavailable(operation: str, error: BaseError) -> StoreUnavailable:
        log.warning("media.store_failed", store="s3", operation=operation, error=type(error).__name__)
        return StoreUnavailable("the picture store does not answer; try again shortly")
