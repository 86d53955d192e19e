"""Idle sender threads, counted: a dispatcher claims only as many messages as it has threads
free to start sending them at once, so no claimed message waits in a queue while its lease
runs out (another worker would then send it again)."""

from __future__ import annotations

import threading


class Slots:
    """`size` sender threads; `take` reserves the idle ones, `give` returns them."""

    def __init__(self, size: int) -> None:
        self._idle = size
        self._changed = threading.Condition()

    def take(self, most: int, wait: float = 0.0) -> int:
        """Reserve up to `most` idle threads, waiting up to `wait` seconds for one to become
        idle; how many were reserved (0 when none became idle in time)."""
        with self._changed:
            if not self._idle and wait > 0:
                self._changed.wait_for(lambda: self._idle > 0, wait)
            taken = min(most, self._idle)
            self._idle -= taken
            return taken

    def give(self, count: int = 1) -> None:
        if count:
            with self._changed:
                self._idle += count
                self._changed.notify_all()
