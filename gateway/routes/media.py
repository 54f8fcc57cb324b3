"""``/image-proxy``: re-hosted images, safe to serve on the public internet.

``/image-proxy/{id}.{ext}`` serves a stored image; ``/image-proxy?url=…&sig=…``
serves a signed remote link, downloading and storing it on the first hit.
Both answer with the same headers: an immutable ``ETag`` (304 on a match),
``HEAD``, single ``Range`` requests (206), ``nosniff``, ``inline``, a
Content-Security-Policy that lets nothing in the file run, and CORS ``*``.
"""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, route
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response.base import ASGIResponse

from gateway.errors import Gone, NotFound
from gateway.media import StoredImage
from gateway.metrics import SERVED_BYTES
from gateway.ranges import RangeNotSatisfiable, requested_range
from gateway.records.queries import name_deleted
from gateway.remote_images import RemoteImages
from gateway.resources import Resources

IMMUTABLE = "public, max-age=31536000, immutable"
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
EXPOSED = "ETag, Content-Length, Content-Range, Accept-Ranges"
METHODS = [HttpMethod.GET, HttpMethod.HEAD]


@route("/image-proxy/{name:str}", http_method=METHODS)
async def get_image(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], name: FromPath[str]
) -> ASGIResponse:
    found = await resources.store.get(name)
    if found is None:
        if await name_deleted(resources.database, name):  # looked up only on a miss: the hot path stays as it was
            raise Gone(f"image '{name}' was deleted")
        raise NotFound(f"no image named '{name}'")
    return image_response(request, *found)


@route("/image-proxy", http_method=METHODS)
async def get_signed_image(
    request: Request[Any, Any, Any],
    remote_images: NamedDependency[RemoteImages],
    url: FromQuery[str | None] = None,
    sig: FromQuery[str | None] = None,
) -> ASGIResponse:
    return image_response(request, *await remote_images.open(url, sig))


def image_response(request: Request[Any, Any, Any], data: bytes, image: StoredImage) -> ASGIResponse:
    etag = f'"{image.id}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{image.name}"',
        "Content-Security-Policy": IMAGE_CSP,
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": EXPOSED,
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return ASGIResponse(status_code=304, headers=headers)
    if request.method == HttpMethod.HEAD:
        headers |= {"Content-Type": image.kind.content_type, "Content-Length": str(image.size)}
        return ASGIResponse(headers=headers, is_head_response=True)
    if_range = request.headers.get("if-range")
    try:
        wanted = requested_range(request.headers.get("range"), image.size) if if_range in (None, etag) else None
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{image.size}"
        return ASGIResponse(status_code=416, headers=headers)
    if wanted is None:
        SERVED_BYTES.inc(len(data))
        return ASGIResponse(body=data, media_type=image.kind.content_type, headers=headers)
    headers["Content-Range"] = wanted.content_range(image.size)
    body = data[wanted.start : wanted.end + 1]
    SERVED_BYTES.inc(len(body))
    return ASGIResponse(status_code=206, body=body, media_type=image.kind.content_type, headers=headers)
