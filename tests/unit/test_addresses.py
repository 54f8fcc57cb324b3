"""Which addresses image downloads may reach."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.addresses import AddressGuard, AddressRefused, is_forbidden, literal_address

FORBIDDEN = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.251",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
]
ALLOWED = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[::FFFF:127.0.0.1]", "::ffff:127.0.0.1"),
        ("images.example.com", None),
        ("localhost", None),
        ("deadbeef", None),
    ],
)
def test_literal_hosts_are_read_the_way_resolvers_read_them(host: str, expected: str | None) -> None:
    assert literal_address(host) == (ipaddress.ip_address(expected) if expected else None)


def test_literal_forbidden_hosts_are_refused_before_any_lookup() -> None:
    guard = AddressGuard(allow_private=False)
    with pytest.raises(AddressRefused, match=r"169\.254\.169\.254"):
        guard.check_literal("169.254.169.254")
    with pytest.raises(AddressRefused):
        guard.check_literal("0x7f000001")
    guard.check_literal("images.example.com")  # names are checked when resolved
    AddressGuard(allow_private=True).check_literal("127.0.0.1")


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(AddressRefused, match=r"localhost \((127\.0\.0\.1|::1)\)"):
        await AddressGuard(allow_private=False).resolve("localhost", 80)
    allowed = await AddressGuard(allow_private=True).resolve("localhost", 80)
    assert ipaddress.ip_address("127.0.0.1") in allowed or ipaddress.ip_address("::1") in allowed
