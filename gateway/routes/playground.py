"""``GET /``: the playground, one static page that uses only the public API (so it doubles as an example).

It ships in the package (no build step, no CDN); the client key a person types
stays in their browser's storage and goes only into the ``Authorization``
header of the page's own calls.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from litestar import MediaType, Response, get

PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob: https: http:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
    ),
}


@cache
def playground_page() -> bytes:
    return files("gateway").joinpath("static/playground.html").read_bytes()


@get(["/", "/playground"], media_type=MediaType.HTML, include_in_schema=False)
async def get_playground() -> Response[bytes]:
    return Response(playground_page(), media_type=MediaType.HTML, headers=PAGE_HEADERS)
