"""The absolute base for links the gateway emits, correct behind a reverse proxy and under a path prefix.

In order: ``PUBLIC_BASE_URL`` when set; else, for a request whose peer is in
``TRUSTED_PROXIES``, what the proxy says (``Forwarded`` proto/host, else
``X-Forwarded-Proto``/``X-Forwarded-Host``, plus ``X-Forwarded-Prefix``);
else the scheme and host the request itself came to. Forwarding headers from
anyone else are ignored: a client must not be able to choose the links other
clients get.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Request

from config import Settings
from config.settings import IPNetwork

HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
PREFIX = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?$")
SCHEMES = {"http", "https"}


def public_base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """Where clients reach us, path prefix included, without a trailing slash."""
    if settings.public_base_url:
        return settings.public_base_url
    own = str(request.base_url).rstrip("/")
    peer = request.client.host if request.client else None
    if not is_trusted(peer, settings.trusted_proxies):
        return own
    return forwarded_base(request.headers, default_scheme=request.url.scheme, default_host=request.url.netloc) or own


def is_trusted(peer: str | None, proxies: Iterable[IPNetwork]) -> bool:
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return any(address in network for network in proxies)


def forwarded_base(headers: Mapping[str, str], *, default_scheme: str, default_host: str) -> str | None:
    """The base a trusted proxy describes, or None when it describes nothing (or nothing valid)."""
    forwarded = last_forwarded_element(headers.get("forwarded", ""))
    scheme = forwarded.get("proto") or last_value(headers.get("x-forwarded-proto", ""))
    host = forwarded.get("host") or last_value(headers.get("x-forwarded-host", ""))
    prefix = last_value(headers.get("x-forwarded-prefix", ""))
    if not (scheme or host or prefix):
        return None
    scheme = scheme.lower() if scheme.lower() in SCHEMES else default_scheme
    host = host if HOST.match(host) else default_host
    prefix = prefix if PREFIX.match(prefix) else ""
    return f"{scheme}://{host}/{prefix.strip('/')}".rstrip("/")


def last_value(header: str) -> str:
    """The value the nearest proxy added to a comma list (the earlier ones came from further out)."""
    return header.rsplit(",", 1)[-1].strip()


def last_forwarded_element(header: str) -> dict[str, str]:
    """The parameters of the last element of an RFC 7239 ``Forwarded`` header, names lowercased."""
    if not header.strip():
        return {}
    element = split_outside_quotes(header, ",")[-1]
    params: dict[str, str] = {}
    for pair in split_outside_quotes(element, ";"):
        name, sep, value = pair.partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"')
            params[name.strip().lower()] = value
    return params


def split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
