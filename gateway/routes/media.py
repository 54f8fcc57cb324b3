"""``GET|HEAD /image-proxy/{id}.{ext}``: re-hosted images, immutable and cacheable forever."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, route
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response.base import ASGIResponse

from gateway.errors import NotFound
from gateway.media import MediaStore

IMMUTABLE = "public, max-age=31536000, immutable"


@route("/image-proxy/{name:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD])
async def get_image(
    request: Request[Any, Any, Any], store: NamedDependency[MediaStore], name: FromPath[str]
) -> ASGIResponse:
    found = await store.get(name)
    if found is None:
        raise NotFound(f"no image named '{name}'")
    data, image = found
    etag = f'"{image.id}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return ASGIResponse(status_code=304, headers=headers)
    if request.method == HttpMethod.HEAD:
        headers |= {"Content-Type": image.kind.content_type, "Content-Length": str(image.size)}
        return ASGIResponse(headers=headers, is_head_response=True)
    return ASGIResponse(body=data, media_type=image.kind.content_type, headers=headers)
