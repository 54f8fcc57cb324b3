"""One process against ``imagegate serve --workers N`` with Redis: requests/s, latency, Redis round trips per request.

Real processes on 127.0.0.1: Debian's ``redis-server``, the mock vendor (``bench/mock_vendor.py``), the gateway
(fresh per row, its images in a temporary directory) and ``wrk``. Each row: a 2 s warm-up, then wrk for
``--seconds`` at ``--concurrency`` POSTing an images request; the ratio is to the direct call of the mock vendor
and to the single process. Redis round trips are the commands Redis processed during the run (``INFO stats``)
per request answered: reading keys costs none, only a key that changes state (a 429, a dead key) costs one.

    python bench/workers.py [--workers 1 2] [--concurrency 100] [--seconds 10] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.concurrency import IMAGE_BODY, VENDOR_KEY, client_headers, gateway_env, mock_vendor, raise_fd_limit
from bench.load import WrkReport, wrk_run
from tests.support.processes import gateway_server
from tests.support.redis import redis_server


def redis_commands(port: int) -> int:
    """``total_commands_processed`` from the server's INFO (one round trip of our own, not counted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
        connection.sendall(b"INFO stats\r\n")
        reply = b""
        while b"total_commands_processed" not in reply or not reply.endswith(b"\r\n"):
            reply += connection.recv(65536)
    line = next(row for row in reply.decode().splitlines() if row.startswith("total_commands_processed:"))
    return int(line.split(":")[1])


def load(url: str, headers: dict[str, str], concurrency: int, seconds: int) -> WrkReport:
    body = '{"model": "%s", "prompt": "%s"}' % (IMAGE_BODY["model"], IMAGE_BODY["prompt"])  # noqa: UP031
    wrk_run(url, concurrency=min(concurrency, 10), seconds=2, method="POST", body=body, headers=headers)
    return wrk_run(url, concurrency=concurrency, seconds=seconds, method="POST", body=body, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE settings for the gateway (KEEP_RECORDS=false)")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    raise_fd_limit()
    rows: list[tuple[str, WrkReport, float | None]] = []
    with redis_server() as redis, mock_vendor(args.latency) as vendor, tempfile.TemporaryDirectory() as workdir:
        direct_headers = {"Authorization": f"Bearer {VENDOR_KEY}", "Content-Type": "application/json"}
        direct = load(f"{vendor.url}/v1/images/generations", direct_headers, args.concurrency, args.seconds)
        rows.append(("direct", direct, None))
        print(f"direct: {direct.rps:.1f} req/s, p50 {direct.p50_ms} ms, p99 {direct.p99_ms} ms", flush=True)
        for workers in args.workers:
            env = gateway_env(vendor.url, Path(workdir), REDIS_URL=redis.url, WORKERS=str(workers), **extra)
            with gateway_server(env, cwd=Path(workdir)) as gateway:
                before = redis_commands(redis.port)
                report = load(f"{gateway.url}/v1/images/generations", client_headers(), args.concurrency, args.seconds)
                trips = (redis_commands(redis.port) - before - 1) / max(report.requests, 1)
            rows.append((f"gateway x{workers}", report, trips))
            print(
                f"gateway --workers {workers}: {report.rps:.1f} req/s, p50 {report.p50_ms} ms, p99 {report.p99_ms} ms,"
                f" {report.describe_errors()}, Redis round trips per request {trips:.4f}",
                flush=True,
            )
    single = next((report for name, report, _ in rows if name == "gateway x1"), None)
    print(f"\nvendor latency {args.latency} s, c={args.concurrency}, {args.seconds} s per run")
    print("| target | req/s | p50 ms | p99 ms | vs direct | vs 1 process | Redis round trips/request |")
    print("|---|---|---|---|---|---|---|")
    for name, report, trips in rows:
        versus_single = f"{report.rps / single.rps:.2f}" if single and name != "direct" else "-"
        print(
            f"| {name} | {report.rps:.1f} | {report.p50_ms} | {report.p99_ms} | {report.rps / direct.rps:.2f}"
            f" | {versus_single} | {'-' if trips is None else f'{trips:.4f}'} |"
        )


if __name__ == "__main__":
    main()
