"""Hold memory so that PostgreSQL's tables meet a smaller page cache.

A store larger than the machine's memory reads pages from disk; building one (53 GB for
10,000,000 appointments) takes an hour or more. Holding most of the memory in a process of
its own gives a 2,000,000-appointment store the same ratio of store to page cache in a
fraction of the time. The machine has no swap, so touched anonymous memory cannot be
reclaimed and the kernel shrinks the page cache instead.

`python hold_memory.py GIB` touches GIB gibibytes, prints "held", and sleeps until killed.
`MemoryHold` runs it from the benchmark.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

CHUNK = 1 << 28  # 256 MiB: each chunk is filled (not just mapped) so the kernel must back it


def _meminfo_gib(key: str) -> float:
    """A /proc/meminfo line's value (kB there) in GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / (1 << 20)
    raise RuntimeError(f"no {key} in /proc/meminfo")


def available_gib() -> float:
    """MemAvailable: what the kernel could give without swapping (free plus reclaimable)."""
    return _meminfo_gib("MemAvailable")


class MemoryHold:
    """Holds memory until `release()`, leaving about `leave_gib` for the page cache."""

    def __init__(self, leave_gib: float) -> None:
        if _meminfo_gib("SwapTotal") > 0:
            raise RuntimeError("the machine has swap: held memory would be swapped out "
                               "instead of shrinking the page cache")
        self.before = available_gib()
        self.held = max(0.0, self.before - leave_gib)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, f"{self.held:.3f}"], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "held":
            self.proc.kill()
            raise RuntimeError("the memory holder did not start")
        self.after = available_gib()

    def release(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def main(gib: float) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    held = [b"\x01" * CHUNK for _ in range(int(gib * (1 << 30)) // CHUNK)]
    print("held", flush=True)
    while held:
        time.sleep(3600)


if __name__ == "__main__":
    main(float(sys.argv[1]))
