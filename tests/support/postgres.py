"""A real PostgreSQL server (Debian's ``postgresql``) on a loopback port in a temporary directory, for tests.

As root (CI), the server runs as the ``postgres`` user, which the package creates; PostgreSQL refuses root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port


def binaries() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """A started server; yields ``host:port``. Stopped and its directory removed on exit."""
    bin_dir = binaries()
    assert bin_dir is not None, "PostgreSQL is not installed (apt-get install postgresql)"
    root = Path(tempfile.mkdtemp(prefix="imagegate-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = subprocess.Popen(
        _as_server_user(
            [
                str(bin_dir / "postgres"),
                "-D", str(data),
                "-p", str(port),
                "-k", str(root),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
        ).returncode:
            assert server.poll() is None, "PostgreSQL exited while starting"
            assert time.monotonic() < deadline, "PostgreSQL did not start within 30 s"
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(address: str) -> str:
    """A new, empty database on the server at ``address``; its ``postgresql://`` URL."""
    bin_dir = binaries()
    assert bin_dir is not None
    host, _, port = address.partition(":")
    name = f"test_{uuid.uuid4().hex[:12]}"
    subprocess.run(
        [str(bin_dir / "createdb"), "-h", host, "-p", port, "-U", "postgres", name],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return f"postgresql://postgres@{address}/{name}"
