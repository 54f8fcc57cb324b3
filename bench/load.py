"""The load loop the benchmarks share: N requests, C at a time, timed one by one."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Summary:
    rps: float
    mb_per_second: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    body_bytes: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.body_bytes / self.seconds / 1e6

    def ms(self, q: int) -> float:
        return percentile(self.latencies, q) * 1000

    def summary(self) -> Summary:
        return Summary(self.rps, self.mb_per_second, self.ms(50), self.ms(99))


async def drive(send: Send, requests: int, concurrency: int) -> LoadResult:
    """Send ``requests`` requests, ``concurrency`` at a time; every answer must be a success."""
    latencies: list[float] = []
    body_bytes = 0
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal body_bytes
            for index in queue:
                started = time.perf_counter()
                response = await send(client, index)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                body_bytes += len(response.content)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(requests, elapsed, latencies, body_bytes)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def print_comparison(results: dict[str, Summary], *, subject: str, baseline: str) -> None:
    """A table of every run, then ``subject`` against ``baseline``."""
    columns = ("req/s", "MB/s", "p50 ms", "p99 ms")
    print(f"{'':10}" + "".join(f"{column:>10}" for column in columns))
    for name, run in results.items():
        values = (run.rps, run.mb_per_second, run.p50_ms, run.p99_ms)
        print(f"{name:10}" + "".join(f"{value:10.1f}" for value in values))
    ours, theirs = results[subject], results[baseline]
    print(
        f"ratio {subject}/{baseline}: throughput {ours.rps / theirs.rps:.2f}x, "
        f"p50 {ours.p50_ms / theirs.p50_ms:.2f}x, p99 {ours.p99_ms / theirs.p99_ms:.2f}x; "
        f"added p50 {ours.p50_ms - theirs.p50_ms:.1f} ms"
    )


WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
WRK_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(url: str, *, concurrency: int, seconds: int, threads: int = 2) -> Summary:
    """GET ``url`` with wrk (a C load generator, so the client is not the bottleneck) and read its report."""
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--latency", url]
    report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} failed responses:\n{report}")

    def latency(q: int) -> float:
        found = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)$", report, re.MULTILINE)
        assert found, report
        return float(found.group(1)) * WRK_UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB|TB)", report)
    assert rps and transfer, report
    mb = float(transfer.group(1)) * WRK_BYTES[transfer.group(2)] / 1e6
    return Summary(float(rps.group(1)), mb, latency(50), latency(99))
