"""Throttling callers that fail to authenticate, per address, before their refusals reach the
audit trail. Each refusal used to cost a permanent row: junk tokens from one address wrote
hundreds of rows a second. Within the burst each refusal is recorded as before; beyond it the
caller gets 429 and the refusals are counted, one aggregated record per address per minute."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.auth.rate_limit import RateLimiter

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Verdict:
    wait: float  # 0: refuse with 401 and record it; else 429 with this Retry-After
    summary: int  # > 0: record one aggregated refusal covering this many requests now


class RefusalThrottle:
    def __init__(self, per_minute: float, burst: int) -> None:
        self._limiter = RateLimiter(per_minute / 60, burst)
        self._windows: dict[
            str, tuple[datetime, int]
        ] = {}  # address: (minute began, counted since its record)
        self._lock = threading.Lock()

    def refuse(self, address: str, now: datetime) -> Verdict:
        """Count one failed authentication from `address`."""
        wait = self._limiter.check(f"refused:{address}")
        if wait == 0:
            return Verdict(0.0, 0)
        with self._lock:
            window = self._windows.get(address)
            if window is None or now - window[0] >= WINDOW:
                # The first throttled refusal of a minute writes one record for itself and
                # those counted since the last record; the rest of the minute only count.
                self._windows[address] = (now, 0)
                return Verdict(wait, (window[1] if window else 0) + 1)
            self._windows[address] = (window[0], window[1] + 1)
            return Verdict(wait, 0)
