"""Coding an event again when the child's birth date changes: a corrected birth date changes
who counts as a child (was-not-brought or did-not-attend) and an infant's age in days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.fhir.dates import age_in_days, age_in_years
from app.fhir.terminology import Terminology


@dataclass(frozen=True)
class Recoded:
    category: str
    outcome_system: str
    outcome_code: str
    is_child: bool
    age_days: int | None


def recode(
    category: str, event_at: datetime, birth_date: date | None, terms: Terminology
) -> Recoded:
    """The coding of an event of `category` at `event_at` for a person born `birth_date`
    (None: unknown, so counted as a child: a missed flag is the dangerous error)."""
    is_child = (
        birth_date is None or age_in_years(birth_date, event_at.date()) < terms.adult_age_years
    )
    if category == "was-not-brought" and not is_child:
        category = "did-not-attend"
    elif category == "did-not-attend" and is_child:
        category = "was-not-brought"
    written = terms.written_codes[category]  # type: ignore[index]
    return Recoded(
        category=category,
        outcome_system=written.system or terms.outcome_system,
        outcome_code=written.code,
        is_child=is_child,
        age_days=age_in_days(birth_date, event_at) if birth_date else None,
    )
