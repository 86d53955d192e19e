"""Times no appointment outcome can have: before 1900, more than two years ahead, or an end
before its start. Coded as "now" or as a date centuries away, they would silently move a
child's miss out of every rule window, so they are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from app.fhir.dates import anniversary, parse_range
from app.fhir.errors import Issue
from app.fhir.walk import values_at, walk

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
YEARS_AHEAD = 2
MOMENTS = {
    "Appointment": ("start", "end", "created"),
    "Observation": (
        "effectiveDateTime",
        "effectivePeriod.start",
        "effectivePeriod.end",
        "effectiveInstant",
        "issued",
    ),
    "Patient": ("birthDate",),
}
PERIODS = {
    "Appointment": ("start", "end"),
    "Observation": ("effectivePeriod.start", "effectivePeriod.end"),
}


def implausible_times(data: dict, today: date) -> list[Issue]:
    """Issues (422, with the element's path) for every implausible time of the resource."""
    type_name = data["resourceType"]
    latest = _latest(today)
    issues = []
    for path in MOMENTS.get(type_name, ()):
        for value, where in walk(data, path, type_name):
            span = parse_range(value) if isinstance(value, str) else None
            if span is None:
                continue
            if span[1] <= EARLIEST:
                issues.append(Issue("business-rule", f"{value} is before 1900.", where))
            elif span[0] >= latest and path != "birthDate":
                issues.append(
                    Issue(
                        "business-rule", f"{value} is more than {YEARS_AHEAD} years ahead.", where
                    )
                )
    if type_name in PERIODS:
        issues += _end_before_start(data, type_name, *PERIODS[type_name])
    return issues


@lru_cache(maxsize=8)
def _latest(today: date) -> datetime:
    """The whole day two years from today is allowed; from the next midnight (UTC) it is not.
    Cached: every write of the day asks the same."""
    return datetime.combine(
        anniversary(today, YEARS_AHEAD) + timedelta(days=1), datetime.min.time(), UTC
    )


def _end_before_start(data: dict, type_name: str, start_path: str, end_path: str) -> list[Issue]:
    starts = [parse_range(v) for v in values_at(data, start_path) if isinstance(v, str)]
    ends = [(parse_range(v), w) for v, w in walk(data, end_path, type_name) if isinstance(v, str)]
    if not starts or not starts[0] or not ends or not ends[0][0]:
        return []
    # Compare whole spans: "2026-03-02" as an end is not before a start at 09:00 that day.
    if ends[0][0][1] <= starts[0][0]:
        return [Issue("business-rule", "end is before start.", ends[0][1])]
    return []
