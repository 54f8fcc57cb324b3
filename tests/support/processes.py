"""Start real server processes on 127.0.0.1 and wait until they answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
FAKE_VENDOR = ROOT / "tests" / "support" / "fake_vendor.py"
IMAGEGATE = Path(sys.executable).with_name("imagegate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def running(
    command: list[str],
    *,
    probe_url: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A process that answers ``probe_url``, stopped (then killed) on exit.

    Its output goes to ``log_path`` when given (kept after exit), else to an anonymous temporary file.
    """
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("IMAGE_GEN_", "FLUX_GEN_"))}
    full_env |= dict(env or {})
    log = log_path.open("w+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=full_env, cwd=cwd or ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_up(probe_url, process)
        except RuntimeError as error:
            log.seek(0)
            raise RuntimeError(
                f"{error}; its output ends with:\n{log.read()[-3000:].decode(errors='replace')}"
            ) from None
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def fake_vendor(latency: float = 0.0, pad_kb: int = 0) -> Iterator[str]:
    """The fake vendor on a free loopback port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        str(FAKE_VENDOR),
        "--port",
        str(port),
        "--latency",
        str(latency),
        "--pad-kb",
        str(pad_kb),
    ]
    with running(command, probe_url=f"{base}/files/8x8.png"):
        yield base


@dataclass(frozen=True)
class Server:
    """A started server process and its base URL."""

    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def gateway_server(env: Mapping[str, str], cwd: Path | None = None, log_path: Path | None = None) -> Iterator[Server]:
    """The gateway started the way the README starts it (``imagegate serve``); yields its URL and process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(IMAGEGATE), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, probe_url=f"{base}/health", env=env, cwd=cwd, log_path=log_path) as process:
        yield Server(base, process)


@contextmanager
def gateway(env: Mapping[str, str], cwd: Path | None = None) -> Iterator[str]:
    """The gateway started the way the README starts it (``imagegate serve``); yields its base URL."""
    with gateway_server(env, cwd) as server:
        yield server.url
