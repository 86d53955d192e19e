"""Bundles take turns in each API process (`WNB_BUNDLES_AT_ONCE`).

Many Bundles at once only share the same cores, each slower: threads contend for the GIL, and
concurrent transactions for the same index pages (ids that sort by time put every insert at
each index's right edge) and WAL insertion. Sixteen at once over two processes stored about a
fifth fewer appointments a second than two at a time, at more CPU per appointment on both
sides (`bench/RESULTS.md`, ninth sitting).

A Bundle waits for its turn on the event loop, before it takes a worker thread or a
connection: a waiting Bundle holds nothing the process's other requests need (health checks,
sign-ins, reads, single writes), and its turns come first in, first out. One semaphore per
event loop: a serving process runs one; a test client runs one of its own."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class BundleSlots:
    def __init__(self, size: int) -> None:
        self.size = size
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """One slot, held until the block ends however it ends (an answer, a refusal, an
        error, the client gone)."""
        slots = self._on_this_loop()
        async with slots.semaphore:
            slots.held += 1
            try:
                yield
            finally:
                slots.held -= 1

    def free(self) -> int:
        """Slots free on the running loop."""
        return self.size - self._on_this_loop().held

    def _on_this_loop(self) -> _Slots:
        loop = asyncio.get_running_loop()
        slots = self._by_loop.get(loop)
        if slots is None:
            slots = self._by_loop[loop] = _Slots(asyncio.Semaphore(self.size))
        return slots


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    held: int = 0
