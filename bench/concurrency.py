"""The gateway under concurrency: a load table, 5,000 requests in flight, and hostile inputs that may stall it.

Everything runs as real processes on 127.0.0.1: the fast mock vendor (``bench/mock_vendor.py``), the
gateway (``imagegate serve``, JSON logs at info level to a temporary file) and ``wrk`` (2 threads,
``--timeout 30s``). Every run is bounded and stops by itself; servers are stopped (then killed) after
each run. Failed responses and socket errors are counted, never raised.

    python bench/concurrency.py table [--latencies 0 0.1] [--concurrency 10 100 1000] [--seconds 10]
                                      [--database-url postgresql://…] [--without-records]
                                      [--portkey URL [--portkey-header NAME:VALUE ...] [--portkey-pid PID]]
    python bench/concurrency.py inflight [--connections 5000] [--seconds 20] [--latency 5] [--workers N]
    python bench/concurrency.py stall [--only NAME ...] [--budget 10]

``table``: per vendor latency a fresh mock vendor; per (latency, concurrency) a fresh gateway. wrk POSTs
an images request straight to the vendor (direct), then through the gateway (and Portkey with
``--portkey``), each after a 2 s warm-up at concurrency <= 10. Per row: req/s, p50/p99, failures,
the server's CPU ms per request (utime+stime from /proc), the ratio to direct and the peak RSS.
``--without-records`` adds a gateway row with ``KEEP_RECORDS=false`` (``gw-norec``): the cost of recording.

``inflight``: a 5 s vendor, wrk -c5000 -d20s --timeout 60s through the gateway while a separate client
polls ``GET /health`` every 50 ms on its own connection (1 s timeout).

``stall``: each hostile input against its own gateway while ``/health`` is polled every 20 ms; prints
what the hostile request got and /health's latency meanwhile. One input failing does not stop the others.
In ``{vendor}`` of a ``--portkey-header`` value the mock vendor's port is substituted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.load import WrkReport, wrk_run
from tests.support.processes import Server, free_port, gateway_server, running
from tests.support.redis import redis_server

CLIENT_KEY = "bench-client-key-0001"
VENDOR_KEY = "key-a-0000000001"
IMAGE_BODY = {"model": "pic", "prompt": "a fox in the snow"}
MOCK_VENDOR = Path(__file__).resolve().with_name("mock_vendor.py")
PORTKEY_HEADERS = (
    "x-portkey-provider:openai",
    "x-portkey-custom-host:http://127.0.0.1:{vendor}/v1",
    f"Authorization:Bearer {VENDOR_KEY}",
)
WARMUP_SECONDS = 2
WARMUP_CONCURRENCY = 10
COMMANDS = ("table", "inflight", "stall")
T = TypeVar("T")
LOG_PROBLEMS = re.compile(r'Task was destroyed|Traceback|"level":\s*"error"')


# ---------------------------------------------------------------- processes and /proc


def raise_fd_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit (children inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of ``pid`` in MB, None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` (best effort, from /proc/net/tcp{,6} and /proc/*/fd)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{parts[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


@contextmanager
def mock_vendor(latency: float) -> Iterator[Server]:
    """The mock vendor on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(MOCK_VENDOR), "--port", str(port), "--latency", str(latency)]
    with running(command, probe_url=f"{url}/files/image.png") as process:
        yield Server(url, process)


def gateway_env(vendor: str, workdir: Path, **overrides: str) -> dict[str, str]:
    """The gateway's configuration: one OpenAI-type group at the mock vendor, plus ``overrides``."""
    env = {
        "AUTHORIZED_API_KEY": CLIENT_KEY,
        "IMAGE_GEN_TYPE_1": "openai",
        "IMAGE_GEN_API_BASE_1": f"{vendor}/v1",
        "IMAGE_GEN_MODEL_1": "pic",
        "IMAGE_GEN_API_KEY_1": f"{VENDOR_KEY},key-b-0000000002",
        "MEDIA_ALLOW_PRIVATE_NETWORKS": "true",
        "MEDIA_STORE": f"file://{workdir}/media",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
        # The mock's picture is 184x184 noise, never the asked size: fitting it (an upscale to a megapixel and a
        # PNG encode, ~160 ms of CPU) would measure Pillow, not the gateway. Real vendors answer the asked size.
        "FIT_TO_SIZE": "false",
    }
    return env | overrides


def client_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {CLIENT_KEY}", "Content-Type": "application/json"}


def ms(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# ---------------------------------------------------------------- table


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    headers: dict[str, str]
    pid: int | None


@dataclass
class Row:
    latency: float
    concurrency: int
    target: str
    report: WrkReport | None = None
    cpu_ms: float | None = None
    cpu_total: float | None = None
    rss_mb: float | None = None
    failure: str = ""
    direct: Row | None = None

    def ratio(self, attribute: str) -> float | None:
        """This row's ``attribute`` over the direct row's."""
        if not (self.direct and self.direct.report and self.report):
            return None
        ours, theirs = getattr(self.report, attribute), getattr(self.direct.report, attribute)
        return ours / theirs if ours is not None and theirs else None


def load(target: Target, concurrency: int, seconds: int) -> WrkReport:
    body = json.dumps(IMAGE_BODY)
    return wrk_run(
        target.url, concurrency=concurrency, seconds=seconds, method="POST", body=body, headers=target.headers
    )


def measure(target: Target, latency: float, concurrency: int, seconds: int, direct: Row | None = None) -> Row:
    """Warm up, then one measured wrk run with the target's CPU time around it."""
    row = Row(latency, concurrency, target.name, direct=direct)
    try:
        load(target, min(concurrency, WARMUP_CONCURRENCY), WARMUP_SECONDS)
        before = cpu_seconds(target.pid) if target.pid else None
        row.report = load(target, concurrency, seconds)
        if target.pid and before is not None:
            row.cpu_total = cpu_seconds(target.pid) - before
            row.cpu_ms = row.cpu_total * 1000 / row.report.requests if row.report.requests else None
            row.rss_mb = peak_rss_mb(target.pid)
    except Exception as error:  # one row failing must not end the table
        row.failure = f"{type(error).__name__}: {error}"[:300]
    print_row(row)
    return row


def print_row(row: Row) -> None:
    head = f"latency {row.latency:g} s  c={row.concurrency:<5} {row.target:8}"
    if row.report is None:
        print(f"{head} FAILED: {row.failure}", flush=True)
        return
    r = row.report
    cpu = f"CPU {ms(row.cpu_ms, 2)} ms/req ({ms(row.cpu_total, 2)} s)" if row.cpu_total is not None else "CPU n/a"
    ratio = f"x direct: req/s {ms(row.ratio('rps'), 3)}, p50 {ms(row.ratio('p50_ms'), 2)}" if row.direct else ""
    print(
        f"{head} {r.rps:9.1f} req/s  p50 {ms(r.p50_ms)} ms  p99 {ms(r.p99_ms)} ms  completed {r.requests}  "
        f"{r.describe_errors()}  {cpu}  {ratio}  peak RSS {ms(row.rss_mb, 0)} MB",
        flush=True,
    )


def markdown_table(rows: list[Row]) -> str:
    header = (
        "| vendor latency | conc | target | req/s | p50 ms | p99 ms | completed | non-2xx | socket errors "
        "| CPU ms/req | req/s vs direct | p50 vs direct | peak RSS MB |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for row in rows:
        r = row.report
        cells = [f"{row.latency:g} s", str(row.concurrency), row.target]
        if r is None:
            cells += ["failed: " + row.failure.replace("|", "/")[:80]] + [""] * 9
        else:
            cells += [f"{r.rps:.1f}", ms(r.p50_ms), ms(r.p99_ms), str(r.requests), str(r.non_2xx)]
            cells += [str(r.socket_error_count), ms(row.cpu_ms, 3), ms(row.ratio("rps"), 3)]
            cells += [ms(row.ratio("p50_ms"), 2), ms(row.rss_mb, 0)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def portkey_target(args: argparse.Namespace, vendor: Server) -> Target:
    vendor_port = str(urlsplit(vendor.url).port)
    headers = {"Content-Type": "application/json"}
    for entry in args.portkey_header or PORTKEY_HEADERS:
        name, _, value = entry.partition(":")
        headers[name.strip()] = value.strip().replace("{vendor}", vendor_port)
    base = args.portkey.rstrip("/")
    pid = args.portkey_pid or listening_pid(urlsplit(base).port or 80)
    return Target("portkey", f"{base}/v1/images/generations", headers, pid)


def table_for_latency(args: argparse.Namespace, latency: float) -> list[Row]:
    """Every concurrency at one vendor latency: direct, gateway (fresh per row), then Portkey."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as workdir, mock_vendor(latency) as vendor:
        direct_headers = {"Authorization": f"Bearer {VENDOR_KEY}", "Content-Type": "application/json"}
        direct = Target("direct", f"{vendor.url}/v1/images/generations", direct_headers, vendor.process.pid)
        for concurrency in args.concurrency:
            base = measure(direct, latency, concurrency, args.seconds)
            rows.append(base)
            if args.without_records:
                rows.append(gateway_row(args, vendor, Path(workdir), latency, concurrency, base, keep_records=False))
            rows.append(gateway_row(args, vendor, Path(workdir), latency, concurrency, base))
            if args.portkey:
                rows.append(measure(portkey_target(args, vendor), latency, concurrency, args.seconds, base))
    return rows


def gateway_row(
    args: argparse.Namespace,
    vendor: Server,
    workdir: Path,
    latency: float,
    concurrency: int,
    base: Row,
    *,
    keep_records: bool = True,
) -> Row:
    """A fresh gateway for one row, so a stuck run cannot spill into the next."""
    name = "gateway" if keep_records else "gw-norec"
    try:
        database = {"DATABASE_URL": args.database_url} if args.database_url else {}
        env = gateway_env(vendor.url, workdir, KEEP_RECORDS=str(keep_records).lower(), **database)
        with gateway_server(env, cwd=workdir) as gateway:
            target = Target(name, f"{gateway.url}/v1/images/generations", client_headers(), gateway.process.pid)
            return measure(target, latency, concurrency, args.seconds, base)
    except Exception as error:  # a gateway that does not start
        row = Row(latency, concurrency, name, failure=f"{type(error).__name__}: {error}"[:300], direct=base)
        print_row(row)
    return row


def run_table(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    for latency in args.latencies:
        rows += table_for_latency(args, latency)
    print()
    print(f"wrk -t2 --timeout 30s, {args.seconds} s per run; POST {json.dumps(IMAGE_BODY)}")
    print(markdown_table(rows))


# ---------------------------------------------------------------- /health polling


@dataclass
class HealthStats:
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: int = 0
    last_answer: float = field(default_factory=time.perf_counter)
    longest_gap: float = 0.0

    def answered(self) -> None:
        """A 200 arrived: the time since the previous one may be the longest stretch without an answer."""
        now = time.perf_counter()
        self.longest_gap = max(self.longest_gap, now - self.last_answer)
        self.last_answer = now

    def quantile_ms(self, q: int) -> float | None:
        values = sorted(self.latencies)
        if not values:
            return None
        if len(values) == 1:
            return values[0] * 1000
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000

    def describe(self) -> str:
        worst = max(self.latencies) * 1000 if self.latencies else None
        return (
            f"/health: {len(self.latencies)} polls, p50 {ms(self.quantile_ms(50))} ms, "
            f"p99 {ms(self.quantile_ms(99))} ms, max {ms(worst)} ms (a timeout counts as its 1 s), "
            f"timeouts {self.timeouts}, other errors {self.errors}, "
            f"longest stretch without an answer {self.longest_gap * 1000:.0f} ms"
        )


class HealthPoller:
    """``GET /health`` every ``interval`` seconds on one connection of its own, 1 s timeout each."""

    def __init__(self, base: str, interval: float) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.client = httpx.AsyncClient(base_url=base, limits=limits, timeout=1.0)
        self.interval = interval
        self.stats = HealthStats()
        self.stop = asyncio.Event()

    async def connect(self) -> None:
        """Open the connection before the load starts (a full accept queue would not let it in later)."""
        (await self.client.get("/health")).raise_for_status()

    async def run(self) -> None:
        self.stats.last_answer = time.perf_counter()
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                await self.poll_once(started)
                pause = self.interval - (time.perf_counter() - started)
                if pause > 0:
                    await asyncio.sleep(pause)
        finally:
            self.stats.answered()  # the stretch up to the end counts too
            await self.client.aclose()

    async def poll_once(self, started: float) -> None:
        try:
            response = await self.client.get("/health")
            if response.status_code == 200:
                self.stats.answered()
            else:
                self.stats.errors += 1
        except httpx.TimeoutException:
            self.stats.timeouts += 1
        except httpx.HTTPError:
            self.stats.errors += 1
            return
        self.stats.latencies.append(time.perf_counter() - started)


async def while_polling(base: str, interval: float, work: Awaitable[T]) -> tuple[T, HealthStats]:
    """Run ``work`` while /health is polled; then poll one second more, for stalls that come after."""
    poller = HealthPoller(base, interval)
    await poller.connect()
    polling = asyncio.create_task(poller.run())
    try:
        answer = await work
    finally:
        await asyncio.sleep(1.0)
        poller.stop.set()
        await polling
    return answer, poller.stats


# ---------------------------------------------------------------- inflight


def run_inflight(args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        vendor = stack.enter_context(mock_vendor(args.latency))
        env = gateway_env(vendor.url, work)
        if args.workers > 1:  # workers need shared key state: a redis-server of their own
            env |= {"WORKERS": str(args.workers), "REDIS_URL": stack.enter_context(redis_server()).url}
        with gateway_server(env, cwd=work, log_path=work / "gateway.log") as gateway:
            time.sleep(1.0 if args.workers > 1 else 0)  # every worker up
            pids = [gateway.process.pid, *worker_pids(gateway.process.pid)]
            print(f"sanity: one images request through the gateway: {sanity_request(gateway.url)}", flush=True)
            before = sum(cpu_seconds(pid) for pid in pids)
            report, health = asyncio.run(inflight_load(args, gateway.url))
            cpu = sum(cpu_seconds(pid) for pid in pids) - before
            rss = sum(peak_rss_mb(pid) or 0.0 for pid in pids)
        logged = log_summary(work / "gateway.log")
    print(
        f"{args.connections} connections, vendor latency {args.latency:g} s, wrk -d{args.seconds}s --timeout 60s\n"
        f"completed {report.requests} ({report.rps:.1f} req/s, p50 {ms(report.p50_ms)} ms, "
        f"p99 {ms(report.p99_ms)} ms); {report.describe_errors()}\n"
        f"(wrk counts neither the requests still unanswered when it stops nor their connections as errors)\n"
        f"gateway CPU {cpu:.2f} s during the run, peak RSS {ms(rss, 0)} MB\n{health.describe()}\n"
        f"gateway log, up to its exit: {logged}"
    )


def worker_pids(pid: int) -> list[int]:
    """The worker processes of ``imagegate serve --workers N`` (none for one process)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def log_summary(log_path: Path) -> str:
    """Images requests the gateway logged as completed, by status, and its problem lines."""
    statuses: dict[int, int] = {}
    problems: list[str] = []
    with log_path.open(errors="replace") as log:
        for line in log:
            if LOG_PROBLEMS.search(line):
                problems.append(line.strip()[:400])
            if '"request.completed"' not in line or "/v1/images/generations" not in line:
                continue
            try:
                status = int(json.loads(line)["status"])
            except (ValueError, KeyError, TypeError):
                continue
            statuses[status] = statuses.get(status, 0) + 1
    shown = "".join(f"\n  {line}" for line in problems[:3])
    return f"images requests completed by status {dict(sorted(statuses.items()))}, problem lines {len(problems)}{shown}"


def sanity_request(base: str) -> str:
    started = time.perf_counter()
    try:
        response = httpx.post(f"{base}/v1/images/generations", json=IMAGE_BODY, headers=client_headers(), timeout=30)
    except httpx.HTTPError as error:
        return f"{type(error).__name__} after {time.perf_counter() - started:.1f} s"
    return f"HTTP {response.status_code} in {time.perf_counter() - started:.2f} s"


async def inflight_load(args: argparse.Namespace, base: str) -> tuple[WrkReport, HealthStats]:
    """wrk in a thread (it is a subprocess) while /health is polled from this event loop."""
    wrk = asyncio.to_thread(
        wrk_run,
        f"{base}/v1/images/generations",
        concurrency=args.connections,
        seconds=args.seconds,
        timeout="60s",
        method="POST",
        body=json.dumps(IMAGE_BODY),
        headers=client_headers(),
    )
    return await while_polling(base, 0.05, wrk)


# ---------------------------------------------------------------- stall


@dataclass(frozen=True)
class Context:
    """What a hostile input may use: the gateway, the vendor, the time it gets."""

    gateway: str
    budget: float


Attack = Callable[[Context], Awaitable[str]]


@dataclass(frozen=True)
class Hostile:
    name: str
    attack: Attack
    env: dict[str, str] = field(default_factory=dict)
    vendor_path: str = "/v1"
    slow_vendor: bool = False


def describe_response(response: httpx.Response, elapsed: float) -> str:
    text = response.text[:200].replace("\n", " ")
    return f"HTTP {response.status_code} in {elapsed:.2f} s: {text}"


async def post(context: Context, path: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    """One POST to the gateway with the client key; the budget is its timeout."""
    async with httpx.AsyncClient(base_url=context.gateway, timeout=context.budget) as client:
        started = time.perf_counter()
        response = await client.post(path, headers=client_headers(), **kwargs)
        return response, time.perf_counter() - started


def answered(attack: Callable[[Context], Awaitable[tuple[httpx.Response, float]]]) -> Attack:
    """An attack that sends one request and reports the answer (or the time it gave up)."""

    async def run(context: Context) -> str:
        try:
            return describe_response(*await attack(context))
        except httpx.TimeoutException:
            return f"no answer within {context.budget:g} s"

    return run


def chat_spaces(spaces: int) -> Attack:
    body = {"model": "pic", "messages": [{"role": "user", "content": "a" + " " * spaces + "b"}]}
    return answered(lambda context: post(context, "/v1/chat/completions", json=body))


def images_request(context: Context) -> Awaitable[tuple[httpx.Response, float]]:
    return post(context, "/v1/images/generations", json=IMAGE_BODY)


def raw_images_body(content: bytes) -> Attack:
    return answered(lambda context: post(context, "/v1/images/generations", content=content))


async def images_then_link(context: Context) -> str:
    """An images request, then a GET of the link it returned (if any)."""
    response, elapsed = await images_request(context)
    answer = describe_response(response, elapsed)
    try:
        url = response.json()["data"][0]["url"]
    except (ValueError, KeyError, IndexError, TypeError):
        return answer
    async with httpx.AsyncClient(timeout=context.budget) as client:
        image = await client.get(url)
    return f"{answer}; GET of the link: HTTP {image.status_code}, {len(image.content)} bytes"


async def slowloris(context: Context, connections: int = 1100, hold: int = 10) -> str:
    """``connections`` half-sent request heads, a byte a second each for ``hold`` s, then closed."""
    split = urlsplit(context.gateway)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    fresh = asyncio.create_task(fresh_health_probe(context.gateway, delay=hold / 2))
    outcomes = await asyncio.gather(*(slow_connection(host, port, hold) for _ in range(connections)))
    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    return f"{connections} connections after {hold} s: {counts}; a new connection's /health mid-attack: {await fresh}"


async def slow_connection(host: str, port: int, hold: int) -> str:
    """One slow client: what the gateway did to it by the end."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except (OSError, TimeoutError):
        return "connect failed"
    try:
        writer.write(b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        for _ in range(hold):
            await asyncio.sleep(1)
            writer.write(b"X")
            await writer.drain()
        return await what_came_back(reader)
    except OSError:
        return "reset by gateway"
    finally:
        writer.close()


async def what_came_back(reader: asyncio.StreamReader) -> str:
    try:
        data = await asyncio.wait_for(reader.read(256), 0.05)
    except TimeoutError:
        return "still open"
    except OSError:
        return "reset by gateway"
    return "closed by gateway" if not data else "answered " + data.split(b"\r\n", 1)[0].decode(errors="replace")


async def fresh_health_probe(base: str, delay: float) -> str:
    await asyncio.sleep(delay)
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await client.get(f"{base}/health")
    except httpx.HTTPError as error:
        return f"{type(error).__name__} after {time.perf_counter() - started:.2f} s"
    return f"HTTP {response.status_code} in {(time.perf_counter() - started) * 1000:.0f} ms"


async def abandoned_streams(context: Context, streams: int = 50) -> str:
    """``streams`` streamed chat completions, each dropped after its first chunk."""
    body = {"model": "pic", "stream": True, "messages": [{"role": "user", "content": "a fox in the snow"}]}
    limits = httpx.Limits(max_connections=streams)
    async with httpx.AsyncClient(base_url=context.gateway, timeout=context.budget, limits=limits) as client:

        async def one() -> str:
            try:
                async with client.stream("POST", "/v1/chat/completions", json=body, headers=client_headers()) as reply:
                    async for _ in reply.aiter_raw():
                        break
                    return f"HTTP {reply.status_code}, dropped after the first chunk"
            except httpx.HTTPError as error:
                return type(error).__name__

        outcomes = await asyncio.gather(*(one() for _ in range(streams)))
    await asyncio.sleep(4)  # let the gateway finish (or fail) the abandoned work before it is stopped
    return str({outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))})


def hostile_inputs() -> list[Hostile]:
    chat_odd = {"IMAGE_GEN_TYPE_1": "chat"}
    small_memory = {"MEDIA_STORE": "memory://", "MEDIA_STORE_MAX_BYTES": "50000"}
    return [
        Hostile("chat-40000-spaces", chat_spaces(40_000)),
        Hostile("chat-30000-spaces", chat_spaces(30_000)),
        Hostile("gzip-bomb-image", answered(images_request), vendor_path="/bomb/v1"),
        Hostile("huge-b64-150MB", answered(images_request), vendor_path="/huge/v1"),
        Hostile("chat-vendor-odd-shape", answered(images_request), chat_odd, "/chat-odd/chat/completions"),
        Hostile("invalid-utf8-body", raw_images_body(b'{"model":"pic","prompt":"\xff\xfe abc"}')),
        Hostile("json-100000-deep", raw_images_body(b"[" * 100_000 + b"]" * 100_000)),
        Hostile("slowloris-1100", slowloris),
        Hostile("50-abandoned-streams", abandoned_streams, slow_vendor=True),
        Hostile("memory-store-50000", images_then_link, small_memory),
    ]


@dataclass
class Outcome:
    name: str
    answer: str = ""
    health: HealthStats | None = None
    log_problems: int | None = None


def run_hostile(hostile: Hostile, vendor: str, budget: float) -> Outcome:
    """One input against a gateway of its own; the log is read after the gateway has stopped."""
    outcome = Outcome(hostile.name)
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        env = gateway_env(vendor, work, IMAGE_GEN_API_BASE_1=vendor + hostile.vendor_path, **hostile.env)
        log_path = work / "gateway.log"
        with gateway_server(env, cwd=work, log_path=log_path) as gateway:
            attack = bounded(hostile.attack(Context(gateway.url, budget)), budget + 20)
            outcome.answer, outcome.health = asyncio.run(while_polling(gateway.url, 0.02, attack))
        outcome.log_problems = count_log_problems(log_path)
    return outcome


async def bounded(work: Awaitable[str], seconds: float) -> str:
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        return f"gave up after {seconds:g} s"


def count_log_problems(log_path: Path) -> int:
    """Lines with 'Task was destroyed', 'Traceback' or level error."""
    with log_path.open(errors="replace") as log:
        return sum(1 for line in log if LOG_PROBLEMS.search(line))


def print_outcome(outcome: Outcome) -> None:
    print(f"== {outcome.name}\n   answer: {outcome.answer}", flush=True)
    if outcome.health:
        print(f"   {outcome.health.describe()}")
    if outcome.log_problems is not None:
        print(f"   gateway log lines with 'Task was destroyed' / 'Traceback' / level error: {outcome.log_problems}")


def stall_summary(outcomes: list[Outcome]) -> str:
    lines = ["| input | /health p99 ms | /health max ms | /health timeouts | longest gap ms | log problems | answer |"]
    lines.append("|---|---|---|---|---|---|---|")
    for o in outcomes:
        h = o.health
        worst = max(h.latencies) * 1000 if h and h.latencies else None
        cells = [o.name, ms(h.quantile_ms(99) if h else None), ms(worst), str(h.timeouts if h else "-")]
        cells.append(ms(h.longest_gap * 1000 if h else None, 0))
        cells += [str(o.log_problems if o.log_problems is not None else "-"), o.answer.replace("|", "/")[:160]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_stall(args: argparse.Namespace) -> None:
    outcomes = []
    chosen = [h for h in hostile_inputs() if not args.only or h.name in args.only]
    with mock_vendor(0.0) as fast, mock_vendor(2.0) as slow:
        httpx.post(f"{fast.url}/huge/v1/images/generations", timeout=60)  # the vendor builds its 150 MB reply once
        for hostile in chosen:
            try:
                outcome = run_hostile(hostile, (slow if hostile.slow_vendor else fast).url, args.budget)
            except Exception as error:  # one input failing must not stop the others
                outcome = Outcome(hostile.name, answer=f"bench error: {type(error).__name__}: {error}"[:400])
            print_outcome(outcome)
            outcomes.append(outcome)
    print()
    print(stall_summary(outcomes))


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    table = commands.add_parser("table", help="req/s, latency, CPU and memory: direct vs gateway (the default)")
    table.add_argument("--latencies", type=float, nargs="+", default=[0.0, 0.1])
    table.add_argument("--concurrency", type=int, nargs="+", default=[10, 100, 1000])
    table.add_argument("--seconds", type=int, default=10)
    table.add_argument("--portkey", help="base URL of a Portkey gateway to measure too")
    table.add_argument("--portkey-header", action="append", help="NAME:VALUE, repeatable; replaces the defaults")
    table.add_argument("--portkey-pid", type=int, help="Portkey's PID for CPU figures (default: found by port)")
    table.add_argument("--database-url", help="where the gateway keeps its records (default: SQLite in its workdir)")
    table.add_argument(
        "--without-records", action="store_true", help="also a gateway with KEEP_RECORDS=false (the records' cost)"
    )
    inflight = commands.add_parser("inflight", help="5,000 requests in flight while /health is polled")
    inflight.add_argument("--connections", type=int, default=5000)
    inflight.add_argument("--seconds", type=int, default=20)
    inflight.add_argument("--latency", type=float, default=5.0)
    inflight.add_argument("--workers", type=int, default=1, help="imagegate serve --workers N (with a redis-server)")
    stall = commands.add_parser("stall", help="hostile inputs while /health is polled")
    stall.add_argument("--only", nargs="+", help="run only these inputs (by name)")
    stall.add_argument("--budget", type=float, default=10.0, help="seconds each hostile request may take")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    raise_fd_limit()
    args = parse_args(argv)
    {"table": run_table, "inflight": run_inflight, "stall": run_stall}[args.command](args)


if __name__ == "__main__":
    main()
