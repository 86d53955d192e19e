"""FHIR date/dateTime/instant strings as UTC ranges (a partial date covers its whole span), and
the UK calendar the service counts ages and days in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# UK practice counts a child's age and "within N days" on the local calendar: 00:30 BST on an
# 18th birthday is already the birthday, whatever the UTC date says.
LONDON = ZoneInfo("Europe/London")

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
    r"(?:Z|[+-]\d{2}:\d{2})?$"
)


@lru_cache(maxsize=4096)
def parse_range(value: str) -> tuple[datetime, datetime] | None:
    """[lo, hi) in UTC for a FHIR date, dateTime or instant; None when it is not one.

    A dateTime without a zone is read as UTC (FHIR leaves it to the server). The last span of
    year 9999 ends at the largest moment Python can hold.

    Cached (the answer is immutable): one write reads an Appointment's start in the time
    checks, its search values, its coded event and its sort date.
    """
    m = _PARTIAL.match(value)
    if m:
        year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        try:
            lo = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
        return lo, _span_end(lo, year, month, bool(m[2]), bool(m[3]))
    if not _DATETIME.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        return moment, moment + timedelta(microseconds=1)
    except (ValueError, OverflowError):  # not a date, or beyond year 1..9999 once in UTC
        return None


def _span_end(lo: datetime, year: int, month: int, has_month: bool, has_day: bool) -> datetime:
    try:
        if has_day:
            return lo + timedelta(days=1)
        if has_month and month == 12:
            return lo.replace(year=year + 1, month=1)
        if has_month:
            return lo.replace(month=month + 1)
        return lo.replace(year=year + 1)
    except (ValueError, OverflowError):
        return datetime.max.replace(tzinfo=UTC)


def parse_instant(value: str) -> datetime | None:
    rng = parse_range(value)
    return rng[0] if rng else None


def parse_date(value: str) -> date | None:
    rng = parse_range(value)
    return rng[0].date() if rng else None


def local_date(at: datetime) -> date:
    """The Europe/London calendar date of an aware instant."""
    return at.astimezone(LONDON).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which a Europe/London calendar day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)


def birth_range(value: str) -> tuple[date, date] | None:
    """(earliest, latest) possible birth date of a FHIR date; both equal for a full date."""
    rng = parse_range(value)
    if rng is None:
        return None
    return rng[0].date(), (rng[1] - timedelta(days=1)).date()


def anniversary(birth: date, years: int = 0, months: int = 0, days: int = 0) -> date:
    """The day a person born on `birth` reaches the age years/months/days.

    A date that does not exist in the target month (29 February in a common year, 31st in a
    30-day month) moves to the 1st of the next month: the convention for a 29 February
    birthday in England and Wales is 1 March.
    """
    month_index = birth.month - 1 + months
    year = birth.year + years + month_index // 12
    month = month_index % 12 + 1
    try:
        reached = date(year, month, birth.day)
    except ValueError:
        reached = date(year + month // 12, month % 12 + 1, 1)
    return reached + timedelta(days=days)


def age_in_years(birth: date, on: date) -> int:
    """Completed years on the calendar date `on` (a 29 February birthday counts on 1 March)."""
    years = on.year - birth.year
    if on < anniversary(birth, years):
        years -= 1
    return years


def fhir_instant(moment: datetime) -> str:
    """An instant as FHIR writes it: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
