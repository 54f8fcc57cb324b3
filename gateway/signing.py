"""Signed ``/image-proxy?url=…&sig=…`` links (camo-style), so the proxy never fetches a URL we did not sign.

``sig`` is the hex HMAC-SHA256 of the exact URL string under
``IMAGE_PROXY_SECRET``. When no secret is configured, one is generated once and
kept in ``DATA_DIR``, so links already handed out keep working after a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

SECRET_FILE = "image-proxy-secret"  # noqa: S105 (a file name, not a secret)


@dataclass(frozen=True, slots=True)
class SignedLink:
    """A remote image the gateway vouches for; fetched and stored on its first hit."""

    url: str
    sig: str

    @property
    def query(self) -> str:
        return urlencode({"url": self.url, "sig": self.sig})


class LinkSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, url: str) -> SignedLink:
        return SignedLink(url, hmac.new(self._secret, url.encode(), hashlib.sha256).hexdigest())

    def verify(self, url: str, sig: str) -> bool:
        """Constant-time check of ``sig`` against the URL's signature."""
        return hmac.compare_digest(self.sign(url).sig.encode(), sig.strip().lower().encode())


def load_or_create_secret(data_dir: Path, name: str = SECRET_FILE) -> bytes:
    """The secret kept in ``data_dir/name``, created on first use; replicas starting together agree on one."""
    path = data_dir / name
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".tmp-secret-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode())
        # link() fails if another process created the file first; then theirs is the one.
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        Path(temp).unlink(missing_ok=True)
    return path.read_bytes().strip()
