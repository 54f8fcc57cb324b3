"""A real nginx (from the Debian package) on a loopback port, configured per test."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ROOT, free_port, running

README_BLOCK = re.compile(r"```nginx\n(?P<block>.*?)```", re.DOTALL)
README_UPSTREAM = "http://127.0.0.1:8000/"

CONFIG = """
daemon off;
{user}
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    types {{ image/png png; image/jpeg jpg; image/webp webp; }}
{upstreams}
    server {{
        listen 127.0.0.1:{port};
        location = /nginx-up {{ return 204; }}
{locations}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError("nginx is not installed; the README's test command installs it (apt-get install nginx)")
    return found


def readme_location(upstream: str) -> str:
    """The nginx location block the README documents, pointed at ``upstream``."""
    match = README_BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md has no nginx block"
    assert README_UPSTREAM in match["block"]
    return match["block"].replace(README_UPSTREAM, upstream.rstrip("/") + "/")


@contextmanager
def nginx(locations: str, work: Path, upstreams: str = "") -> Iterator[str]:
    """nginx serving ``locations`` (``upstreams`` blocks beside them) on a free loopback port; yields its base URL."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # As root, workers would drop to "nobody", who cannot enter pytest's private temp directories.
    user = "user root;" if os.geteuid() == 0 else ""
    config = work / "nginx.conf"
    config.write_text(CONFIG.format(user=user, work=work, port=port, locations=locations, upstreams=upstreams))
    command = [nginx_binary(), "-p", str(work), "-e", str(work / "error.log"), "-c", str(config)]
    with running(command, probe_url=f"http://127.0.0.1:{port}/nginx-up"):
        yield f"http://127.0.0.1:{port}"
