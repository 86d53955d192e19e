"""How dates, ages and NHS numbers read on a page: "3 November 2026", "4 years", "943 476 5919"."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# Nurses read times on UK clocks: 09:00Z in June happened at 10:00 for them.
UK = ZoneInfo("Europe/London")


def _when(value: datetime | date | str | None) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UK)
    return value


def long_date(value: datetime | date | str | None) -> str:
    """'3 November 2026' (GOV.UK and NHS style: no leading zero, month in full)."""
    when = _when(value)
    if when is None:
        return "Not known"
    return f"{when.day} {when:%B %Y}"


def date_time(value: datetime | date | str | None) -> str:
    """'3 November 2026, 9:05am' on UK clocks; a plain date when there is no time."""
    when = _when(value)
    if not isinstance(when, datetime):
        return long_date(when)
    hour = when.hour % 12 or 12
    return f"{long_date(when)}, {hour}:{when:%M}{'am' if when.hour < 12 else 'pm'}"


def iso(value: datetime | date | str | None) -> str:
    """For <time datetime="...">: machine-readable, whatever the display says."""
    when = _when(value)
    return when.isoformat() if when is not None else ""


def nhs_number(value: str | None) -> str:
    """'943 476 5919': the 3-3-4 grouping NHS staff read and say aloud."""
    if not value:
        return "Not known"
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) != 10:
        return value
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def age(days: int | None) -> str:
    """Weeks for a new baby, months under two, then completed years (as clinicians say it)."""
    if days is None or days < 0:
        return "Age not known"
    if days < 7:
        return _plural(days, "day")
    if days < 91:
        return _plural(days // 7, "week")
    if days < 731:
        return _plural(int(days / 30.4375), "month")
    return _plural(int(days / 365.25), "year")


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


FILTERS = {
    "long_date": long_date,
    "date_time": date_time,
    "iso": iso,
    "nhs_number": nhs_number,
    "age": age,
}
