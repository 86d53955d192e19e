"""Coding an event again when the child's birth date changes: a corrected birth date changes
who counts as a child (was-not-brought or did-not-attend) and an infant's age in days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.fhir.coding import BirthSpan, code_for_age
from app.fhir.terminology import Terminology


@dataclass(frozen=True)
class Recoded:
    category: str
    outcome_system: str
    outcome_code: str
    is_child: bool
    age_days: int | None
    age_uncertain_days: int = 0


def recode(
    category: str, event_at: datetime, birth: date | BirthSpan | None, terms: Terminology
) -> Recoded:
    """The coding of an event of `category` at `event_at` for a person born `birth` (a date,
    or the (earliest, latest) span of a partial date; None: unknown, so counted as a child:
    a missed flag is the dangerous error). Ages on the Europe/London date, as at ingest."""
    span = (birth, birth) if isinstance(birth, date) else birth
    coded = code_for_age(category, event_at, span, terms)  # type: ignore[arg-type]
    written = terms.written_codes[coded.category]
    return Recoded(
        category=coded.category,
        outcome_system=written.system or terms.outcome_system,
        outcome_code=written.code,
        is_child=coded.is_child,
        age_days=coded.age_days,
        age_uncertain_days=coded.age_uncertain_days,
    )
