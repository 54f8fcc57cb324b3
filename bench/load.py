"""The load loop the benchmarks share: N requests, C at a time, timed one by one."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
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
        found = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)\s*$", report, re.MULTILINE)
        assert found, report
        return float(found.group(1)) * WRK_UNITS[found.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB|TB)", report)
    assert rps and transfer, report
    mb = float(transfer.group(1)) * WRK_BYTES[transfer.group(2)] / 1e6
    return Summary(float(rps.group(1)), mb, latency(50), latency(99))


SOCKET_ERRORS = ("connect", "read", "write", "timeout")


@dataclass(frozen=True)
class WrkReport:
    """What one wrk run saw; nothing is raised for failed responses, they are counted."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    non_2xx: int
    socket_errors: dict[str, int]

    @property
    def socket_error_count(self) -> int:
        return sum(self.socket_errors.values())

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_error_count

    def describe_errors(self) -> str:
        parts = ", ".join(f"{name} {self.socket_errors.get(name, 0)}" for name in SOCKET_ERRORS)
        return f"non-2xx {self.non_2xx}, socket errors {self.socket_error_count} ({parts})"


def lua_string(text: str) -> str:
    """``text`` as a double-quoted Lua string literal (every byte outside printable ASCII escaped)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def wrk_script(method: str, body: str | None, headers: dict[str, str]) -> str:
    """A wrk Lua script that sends ``method`` with ``body`` and ``headers`` on every request."""
    lines = [f"wrk.method = {lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    lines += [f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def wrk_run(
    url: str,
    *,
    concurrency: int,
    seconds: int,
    threads: int = 2,
    timeout: str = "30s",
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> WrkReport:
    """Run wrk (any method, body and headers through a temporary Lua script) and read its full report."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(wrk_script(method, body, headers or {}))
        script.flush()
        command = ["wrk", f"-t{min(threads, concurrency)}", f"-c{concurrency}", f"-d{seconds}s"]
        command += ["--timeout", timeout, "--latency", "-s", script.name, url]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    if finished.returncode != 0 or "requests in" not in finished.stdout:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stdout}{finished.stderr}")
    return parse_wrk(finished.stdout)


def parse_wrk(report: str) -> WrkReport:
    """The figures of a ``wrk --latency`` report; latencies are None when nothing completed."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", report)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    assert done and rps, report
    requests = int(done.group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    counts = [int(value) for value in socket.groups()] if socket else [0] * len(SOCKET_ERRORS)

    def latency(q: int) -> float | None:
        found = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)\s*$", report, re.MULTILINE)
        if not found or requests == 0:
            return None
        return float(found.group(1)) * WRK_UNITS[found.group(2)]

    return WrkReport(
        requests=requests,
        seconds=float(done.group(2)) * WRK_UNITS[done.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=latency(50),
        p99_ms=latency(99),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(SOCKET_ERRORS, counts, strict=True)),
    )
