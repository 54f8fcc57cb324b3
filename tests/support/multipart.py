"""Reading a multipart request back the way a vendor's server does."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

import httpx

Part = tuple[str, str | None, bytes]
"""(field name, file name or None for a plain field, content)."""


def form_parts(request: httpx.Request) -> list[Part]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    return [
        (str(part.get_param("name", header="content-disposition")), part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    ]


def files_sent(request: httpx.Request) -> list[tuple[str, bytes]]:
    return [(name, content) for name, filename, content in form_parts(request) if filename is not None]


def fields_sent(request: httpx.Request) -> dict[str, str]:
    return {name: content.decode() for name, filename, content in form_parts(request) if filename is None}
