"""A safeguarding status (CP plan, looked after, child in need) read from a FHIR Flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.fhir.dates import parse_range
from app.fhir.references import split_local
from app.fhir.terminology import Terminology
from app.fhir.walk import values_at


@dataclass(frozen=True)
class Status:
    child_id: str
    status: str
    start: datetime | None
    end: datetime | None
    inactive: bool = False  # the source made it inactive; `end` None: it did not say when


def status_of(flag: dict[str, Any], terms: Terminology, recorded_at: datetime) -> Status | None:
    """The status a Flag about a Patient states, or None (not a status, or entered in error).

    An inactive Flag without an end date has `inactive` set and no end: the caller ends it
    when it first stored it as inactive (`recorded_at` for a first inactive version).
    """
    if flag.get("status") == "entered-in-error":
        return None
    local = split_local(((flag.get("subject") or {}).get("reference")) or "")
    if local is None or local[0] != "Patient":
        return None
    status = next(
        (
            found
            for coding in values_at(flag, "code.coding[]")
            if (found := terms.status_for(coding.get("system"), coding.get("code")))
        ),
        None,
    )
    if status is None:
        return None
    period = flag.get("period") or {}
    start = _span(period.get("start"))
    end = _span(period.get("end"))
    inactive = flag.get("status") == "inactive"
    return Status(
        local[1], status, start[0] if start else None, end[1] if end else None, inactive
    )


def _span(value: Any) -> tuple[datetime, datetime] | None:
    """[lo, hi) of a date the Flag gives, else None (absent, or not a date)."""
    return parse_range(value) if isinstance(value, str) else None
