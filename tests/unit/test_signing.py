"""Signed proxy links and the secret that signs them."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs

from gateway.signing import SECRET_FILE, LinkSigner, load_or_create_secret

URL = "https://sf-cdn.example/outputs/abc.png?X-Amz-Signature=1f2e"


def test_a_signature_checks_out_only_for_its_own_url_and_secret() -> None:
    signer = LinkSigner(b"one secret")
    link = signer.sign(URL)
    assert len(link.sig) == 64
    assert signer.verify(URL, link.sig)
    assert signer.verify(URL, link.sig.upper())  # hex is case-insensitive
    assert not signer.verify(URL + "&x=1", link.sig)  # tampered url
    assert not signer.verify(URL, link.sig[:-1] + ("0" if link.sig[-1] != "0" else "1"))  # tampered sig
    assert not signer.verify(URL, "")
    assert not LinkSigner(b"another secret").verify(URL, link.sig)


def test_the_query_carries_the_url_and_sig_encoded() -> None:
    link = LinkSigner(b"s").sign(URL)
    assert parse_qs(link.query) == {"url": [URL], "sig": [link.sig]}


def test_a_generated_secret_is_kept_and_reused(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "data")
    assert len(first) == 64
    assert load_or_create_secret(tmp_path / "data") == first  # a restart signs the same way
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == [SECRET_FILE]


def test_replicas_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: load_or_create_secret(tmp_path), range(32)))
    assert len(secrets) == 1
