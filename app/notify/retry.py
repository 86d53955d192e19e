"""When to try a failed delivery again, and when to give up (dead-letter)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# Seconds before each attempt: the first is immediate, the last a day after the one before.
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
LONGEST_RETRY_AFTER = 86400.0


def parse_schedule(text: str) -> tuple[float, ...]:
    """`"0,5,300"` as seconds; ValueError naming what is wrong."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError("the retry schedule must be comma-separated seconds") from None
    if not values or any(v < 0 for v in values):
        raise ValueError("the retry schedule needs one or more non-negative delays")
    return values


@dataclass(frozen=True)
class RetryPolicy:
    """The delays between attempts (the first entry: before the first attempt) with jitter."""

    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.1  # spread retries so that a receiver coming back is not stampeded

    def delay_after(
        self,
        attempts_made: int,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when the schedule is spent.
        A receiver's Retry-After (429, 503) is honoured, up to a day."""
        if attempts_made >= len(self.schedule):
            return None
        delay = self.schedule[attempts_made] * (1 + self.jitter * (2 * rng() - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, LONGEST_RETRY_AFTER))
        return delay
