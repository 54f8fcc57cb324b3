"""What a trusted reverse proxy says about the public base URL."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.urls import forwarded_base, is_trusted, last_forwarded_element

OWN = {"default_scheme": "http", "default_host": "127.0.0.1:8000"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        (
            {"x-forwarded-proto": "https", "x-forwarded-host": "img.example.com", "x-forwarded-prefix": "/imagegen"},
            "https://img.example.com/imagegen",
        ),
        ({"x-forwarded-prefix": "/imagegen/"}, "http://127.0.0.1:8000/imagegen"),
        ({"x-forwarded-proto": "https"}, "https://127.0.0.1:8000"),
        ({"forwarded": 'for=1.2.3.4;proto=https;host="img.example.com:8443"'}, "https://img.example.com:8443"),
        # a chain: the element the nearest proxy added is the last one
        ({"forwarded": "proto=http;host=evil.example, proto=https;host=img.example.com"}, "https://img.example.com"),
        ({"x-forwarded-host": "evil.example, img.example.com"}, "http://img.example.com"),
        # Forwarded wins over X-Forwarded-*; the prefix still comes from X-Forwarded-Prefix
        (
            {"forwarded": "proto=https;host=a.example", "x-forwarded-host": "b.example", "x-forwarded-prefix": "/p"},
            "https://a.example/p",
        ),
        # nonsense values are not echoed into links
        ({"x-forwarded-proto": "javascript", "x-forwarded-host": "a.example/evil?"}, "http://127.0.0.1:8000"),
        ({"x-forwarded-prefix": "/a b<script>"}, "http://127.0.0.1:8000"),
    ],
)
def test_forwarded_base(headers: dict[str, str], expected: str | None) -> None:
    assert forwarded_base(headers, **OWN) == expected


def test_forwarded_quoted_values_may_hold_separators() -> None:
    assert last_forwarded_element('for="[2001:db8::1]:4711";host="a.example;b", proto=https') == {"proto": "https"}
    assert last_forwarded_element('for="x,y";host="a.example"')["host"] == "a.example"


def test_only_listed_peers_are_trusted() -> None:
    proxies = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]
    assert is_trusted("10.1.2.3", proxies)
    assert is_trusted("::1", proxies)
    assert not is_trusted("192.168.0.1", proxies)
    assert not is_trusted("testclient", proxies)
    assert not is_trusted(None, proxies)
