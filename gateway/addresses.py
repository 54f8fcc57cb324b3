"""Which network addresses outbound image downloads may reach, and connections pinned to them.

A link in a vendor reply or a legacy ``?url=`` is someone else's input: left
alone it could make the gateway fetch ``http://169.254.169.254/`` (cloud
metadata) or an admin page on the private network. So every host is resolved
once, every address it resolves to is checked, and the socket connects to the
checked address itself: there is no second lookup a rebinding DNS server
could answer differently.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NUMERIC_HOST = frozenset("0123456789abcdefx.")


class AddressRefused(Exception):
    """The host is, or resolves to, an address outbound downloads may not reach."""

    def __init__(self, host: str, address: IPAddress | None = None) -> None:
        shown = host if address is None or str(address) == host else f"{host} ({address})"
        super().__init__(f"{shown} is a private, loopback, link-local or reserved address")
        self.host = host


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_forbidden(address: IPAddress) -> bool:
    """True for anything but a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and is_forbidden(inner):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, including the forms resolvers accept (``2130706433``, ``0x7f.1``)."""
    host = host.strip("[]").lower()
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and set(host) <= NUMERIC_HOST:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class AddressGuard:
    """Resolves hosts and refuses forbidden addresses (unless private networks are allowed)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def check_literal(self, host: str) -> None:
        """Refuse a host that is itself a forbidden address, before any request is built."""
        address = literal_address(host)
        if address is not None and not self.allow_private and is_forbidden(address):
            raise AddressRefused(host, address)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to, all checked; refused if any one is forbidden."""
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not self.allow_private:
            for address in addresses:
                if is_forbidden(address):
                    raise AddressRefused(host, address)
        return addresses
