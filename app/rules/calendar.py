"""The calendar the rules count in: Europe/London days, as UK practice counts them.

"Within 90 days" means within 90 calendar days on the local calendar, so a pair of
appointments at 09:00 BST on 1 September and 09:00 GMT on 30 November is 90 days apart, not
90 days and an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from app.fhir.dates import local_date, local_midnight


@lru_cache(maxsize=1 << 16)
def day_number(at: datetime) -> int:
    """The Europe/London calendar day of an instant, as a day count (comparable, subtractable).

    Cached: a backtest asks for the same instants once per rule and window.
    """
    return local_date(at).toordinal()


@lru_cache(maxsize=1 << 16)
def end_of_day_after(at: datetime, days: int) -> datetime:
    """The instant the local calendar day `days` days after `at`'s day ends (exclusive).

    Cached: a time-based rule asks it of every missed event in every window it looks at, and
    `next_due` and the follow-up index ask again (two zone conversions each time)."""
    return local_midnight(local_date(at) + timedelta(days=days + 1))
