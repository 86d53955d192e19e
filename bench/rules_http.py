"""bench/rules: a bounded HTTP/1.1 load generator on loopback (asyncio, keep-alive, one
process so it takes at most one core). Requests are pre-built bytes; a request's latency runs
from writing its first byte to reading the last byte of its answer."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Run:
    count: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        ok = self.count - len(self.failures)
        return ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def post(path: str, token: str, body: bytes, content_type: str = "application/fhir+json") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed by the server")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def _drive(port: int, requests: Sequence[bytes], connections: int, ok: set[int]) -> Run:
    run = Run(count=len(requests))
    cursor = iter(range(len(requests)))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in cursor:
                started = time.perf_counter()
                writer.write(requests[i])
                status, body = await _answer(reader)
                run.latencies.append(time.perf_counter() - started)
                run.statuses[status] += 1
                if status not in ok:
                    run.failures.append(f"#{i}: {status} {body[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    run.elapsed = time.perf_counter() - started
    return run


def drive(
    port: int,
    requests: Sequence[bytes],
    connections: int = 16,
    ok: frozenset[int] = frozenset({200, 201}),
) -> Run:
    """Send every request once over `connections` keep-alive connections."""
    try:
        import uvloop

        return uvloop.run(_drive(port, requests, connections, set(ok)))
    except ImportError:
        return asyncio.run(_drive(port, requests, connections, set(ok)))
