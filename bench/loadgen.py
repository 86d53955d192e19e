"""A small, bounded HTTP/1.1 load generator: asyncio (uvloop when present), keep-alive, one
process, so it never takes more than one core. Requests are pre-serialised bytes; latency is
measured from the first byte written to the last byte of the response read."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

# (request index, status, response body) -> an error message, or None when the answer is right.
Check = Callable[[int, int, bytes], str | None]
# Extra header lines (e.g. b"Authorization: Bearer ...\r\n"), asked for before each request.
Headers = Callable[[], bytes]
# The client's local port -> the server process that accepted the connection (None: not yet).
Placement = Callable[[int], int | None]
MAX_SAMPLES = 5


@dataclass
class RunResult:
    """What one bounded run measured."""

    count: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0
    samples: list[str] = field(default_factory=list)
    cpu_loadgen: float = 0.0  # CPU seconds used by this process during the run

    @property
    def ok(self) -> int:
        return self.count - self.failures

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        """Latency in seconds at quantile q (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
        return ordered[rank]


def http_request(host: str, port: int, path: str, body: bytes,
                 content_type: str = "application/fhir+json") -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Accept: application/fhir+json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Connection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 24)
        return self.reader, self.writer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self.open()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def with_headers(raw: bytes, extra: bytes) -> bytes:
    """`raw` with header lines added after its request line."""
    if not extra:
        return raw
    cut = raw.index(b"\r\n") + 2
    return raw[:cut] + extra + raw[cut:]


async def _connect_all(host: str, port: int, count: int, place: Placement | None,
                       workers: int) -> list[Connection]:
    """Open `count` connections. With `place` (client port -> server worker), a connection that
    lands on a worker already holding its share is closed and opened again, so each worker gets
    at most ceil(count / workers): the kernel alone often gives one worker nearly all of them."""
    conns, held = [], Counter[int | None]()
    quota = -(-count // max(1, workers))
    for _ in range(count):
        conn = Connection(host, port)
        for attempt in range(200):
            _, writer = await conn.open()
            if place is None:
                break
            owner = None
            for _wait in range(100):  # until a worker has accepted it
                owner = place(writer.get_extra_info("sockname")[1])
                if owner is not None:
                    break
                await asyncio.sleep(0.01)
            if held[owner] < quota or attempt == 199:
                held[owner] += 1
                break
            await conn.close()
            await asyncio.sleep(0.005)
        conns.append(conn)
    return conns


async def _drive(host: str, port: int, requests: Iterator[bytes], concurrency: int,
                 check: Check, result: RunResult, timeout: float, headers: Headers | None,
                 place: Placement | None, workers: int, on_start: Callable[[], None] | None
                 ) -> None:
    numbered = enumerate(requests)
    conns = await _connect_all(host, port, concurrency, place, workers)

    async def worker(conn: Connection) -> None:
        try:
            for index, raw in numbered:  # shared iterator: each request is sent exactly once
                if headers is not None:
                    raw = with_headers(raw, headers())
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(timeout):
                        status, body = await conn.send(raw)
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                    await conn.close()
                    status, body = 0, f"{type(exc).__name__}: {exc}".encode()
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] += 1
                problem = check(index, status, body)
                if problem is not None:
                    result.failures += 1
                    if len(result.samples) < MAX_SAMPLES:
                        result.samples.append(_sample(raw, status, body, problem))
        finally:
            result.elapsed = max(result.elapsed, time.perf_counter() - t0)
            await conn.close()

    if on_start is not None:
        on_start()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker(conn) for conn in conns))
    result.cpu_loadgen = time.process_time() - cpu0


def _sample(raw: bytes, status: int, body: bytes, problem: str) -> str:
    request = raw.split(b"\r\n", 1)[0].decode("latin-1")
    payload = raw.split(b"\r\n\r\n", 1)[-1]
    return (f"{problem}\n    request: {request} {payload[:400].decode(errors='replace')}"
            f"{' ...' if len(payload) > 400 else ''}\n"
            f"    response {status}: {body[:600].decode(errors='replace')}")


def run(host: str, port: int, requests: Iterable[bytes], concurrency: int, check: Check, *,
        timeout: float = 300.0, headers: Headers | None = None, place: Placement | None = None,
        workers: int = 1, on_start: Callable[[], None] | None = None) -> RunResult:
    """Send every request once over `concurrency` connections (opened, and placed, before the
    clock starts; `on_start` is called when it does); return timings and statuses."""
    result = RunResult()
    _runner()(_drive(host, port, iter(requests), concurrency, check, result, timeout, headers,
                     place, workers, on_start))
    result.count = len(result.latencies)
    return result


def _runner() -> Callable[..., object]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run
    return uvloop.run
