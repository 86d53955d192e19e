"""Coding an event again when the child's birth date changes: a corrected birth date changes
who counts as a child (was-not-brought or did-not-attend) and an infant's age in days."""

from __future__ import annotations

from datetime import date, datetime

from app.fhir.coding import BirthSpan, PersonCoding, code_for_age
from app.fhir.terminology import Terminology, category_of


def recode(
    category: str, event_at: datetime, birth: date | BirthSpan | None, terms: Terminology
) -> PersonCoding:
    """The coding of an event of `category` at `event_at` for a person born `birth` (a date,
    or the (earliest, latest) span of a partial date; None: unknown, so counted as a child:
    a missed flag is the dangerous error). Ages on the Europe/London date, as at ingest."""
    span = (birth, birth) if isinstance(birth, date) else birth
    return code_for_age(category_of(category), event_at, span, terms)
