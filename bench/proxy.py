"""Serving a stored image: ``/image-proxy/{id}`` against nginx serving the same file from disk.

Stores one ~1 MB PNG in a file store, starts the gateway on that store and
nginx with the store's directory as its root, both as real processes on
127.0.0.1, then fetches the image the same number of times at the same
concurrency from each. Prints requests/s, MB/s and p50/p99 for both, and the
gateway/nginx ratio. The load comes from ``wrk`` when it is installed
(``apt-get install wrk``), else from an httpx client, which is slower than
nginx and then measures itself more than the servers. The load client shares
the machine's cores with both servers, so absolute figures are a floor; the
ratio is the point.

    python bench/proxy.py --seconds 10 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.load import Summary, drive, have_wrk, print_comparison, wrk
from gateway.media import PNG, FileStore
from tests.support.nginx import nginx
from tests.support.processes import gateway


def noise_png(target_bytes: int) -> bytes:
    """A PNG of random pixels (incompressible), about ``target_bytes`` long."""
    side = int((target_bytes / 3) ** 0.5)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        data = noise_png(args.size_kb * 1024)
        image = asyncio.run(FileStore(work / "media").put(data, PNG))
        relative = f"{image.name[:2]}/{image.name}"
        static = f"        location /media/ {{ alias {work / 'media'}/; }}\n"
        env = {"MEDIA_STORE": f"file://{work / 'media'}", "LOG_LEVEL": "warning"}
        with gateway(env, cwd=work) as base, nginx(static, work / "nginx") as web:
            targets = {"nginx": f"{web}/media/{relative}", "gateway": f"{base}/image-proxy/{image.name}"}
            for url in targets.values():
                check = httpx.get(url)
                assert check.status_code == 200 and check.content == data, url

            results: dict[str, Summary] = {}
            for name, url in targets.items():
                results[name] = measure(url, args)

    client = "wrk" if args.client == "wrk" else f"httpx, {args.requests} requests"
    print(f"GETs of one {len(data) / 1e6:.2f} MB PNG, concurrency {args.concurrency}, load from {client}")
    print_comparison(results, subject="gateway", baseline="nginx")


def measure(url: str, args: argparse.Namespace) -> Summary:
    if args.client == "wrk":
        wrk(url, concurrency=args.concurrency, seconds=2)  # warm-up
        return wrk(url, concurrency=args.concurrency, seconds=args.seconds)

    async def get(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.get(url)

    asyncio.run(drive(get, min(200, args.requests), args.concurrency))  # warm-up
    return asyncio.run(drive(get, args.requests, args.concurrency)).summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=["wrk", "httpx"], default="wrk" if have_wrk() else "httpx")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--requests", type=int, default=2000, help="requests per httpx run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size-kb", type=int, default=1024)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
