"""What the gateway costs on top of a direct vendor call.

Starts the fake vendor (fixed latency) and the gateway as real processes on
127.0.0.1, then sends the same number of image requests at the same concurrency
twice: straight to the vendor's ``/images/generations``, and through the
gateway's ``/v1/chat/completions`` (which also decodes, stores and links the
image). Prints requests/s and p50/p99 latency for each, and their ratios.

    python bench/overhead.py --requests 400 --concurrency 32 --latency 0.05 --pad-kb 1024
    python bench/overhead.py --endpoint images --n 4 --size 1024x576
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.load import drive, print_comparison
from tests.support.processes import fake_vendor, gateway

CLIENT_KEY = "bench-client-key-0001"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir, fake_vendor(args.latency, args.pad_kb) as vendor:
        env = {
            "AUTHORIZED_API_KEY": CLIENT_KEY,
            "IMAGE_GEN_TYPE_1": "openai",
            "IMAGE_GEN_API_BASE_1": f"{vendor}/openai",
            "IMAGE_GEN_MODEL_1": "pic",
            "IMAGE_GEN_API_KEY_1": "key-a-0000000001,key-b-0000000002",
            "MEDIA_STORE": args.store if args.store != "file" else f"file://{workdir}/media",
            "LOG_LEVEL": "warning",
        }
        with gateway(env, cwd=Path(workdir)) as base:

            def direct(client: httpx.AsyncClient, index: int) -> asyncio.Future[httpx.Response]:
                body = {"model": "pic", "prompt": f"a fox number {index}", "n": args.n, "size": args.size}
                return client.post(
                    f"{vendor}/openai/images/generations",
                    json=body,
                    headers={"Authorization": "Bearer key-a-0000000001"},
                )

            def through_gateway(client: httpx.AsyncClient, index: int) -> asyncio.Future[httpx.Response]:
                headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
                if args.endpoint == "images":
                    body = {"model": "pic", "prompt": f"a fox number {index}", "n": args.n, "size": args.size}
                    return client.post(f"{base}/v1/images/generations", json=body, headers=headers)
                idea = f"a fox number {index} {args.size}"
                body = {"model": "pic", "n": args.n, "messages": [{"role": "user", "content": idea}]}
                return client.post(f"{base}/v1/chat/completions", json=body, headers=headers)

            await drive(through_gateway, min(20, args.requests), args.concurrency)  # warm-up
            results = {}
            for name, send in (("direct", direct), ("gateway", through_gateway)):
                results[name] = (await drive(send, args.requests, args.concurrency)).summary()

    print(
        f"{args.requests} requests, concurrency {args.concurrency}, vendor latency {args.latency * 1000:.0f} ms, "
        f"image {args.size} + {args.pad_kb} KiB padding, store {args.store}, "
        f"gateway endpoint {args.endpoint}, n={args.n} (the gateway fans out n calls; direct asks for n in one)"
    )
    print_comparison(results, subject="gateway", baseline="direct")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05, help="fake vendor latency in seconds")
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--pad-kb", type=int, default=0, help="extra KiB per image, for realistic payloads")
    parser.add_argument("--store", choices=["file", "memory://"], default="file")
    parser.add_argument("--endpoint", choices=["chat", "images"], default="chat")
    parser.add_argument("--n", type=int, default=1, help="pictures per request")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
