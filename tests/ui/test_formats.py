"""How values read on a page: no database, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.ui import formats, labels


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 11, 3), "3 November 2026"),
        ("2026-11-03", "3 November 2026"),
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "1 July 2026"),  # UK summer time
        ("2026-01-05T09:00:00+00:00", "5 January 2026"),
        (None, "Not known"),
        ("not a date", "Not known"),
    ],
)
def test_long_date(value: object, expected: str) -> None:
    assert formats.long_date(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 6, 15, 12, 5, tzinfo=UTC), "15 June 2026, 1:05pm"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "1 December 2026, 12:00am"),
        (date(2026, 12, 1), "1 December 2026"),
    ],
)
def test_date_time(value: object, expected: str) -> None:
    assert formats.date_time(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9434765919", "943 476 5919"),
        ("943 476 5919", "943 476 5919"),
        ("12", "12"),
        (None, "Not known"),
    ],
)
def test_nhs_number(value: str | None, expected: str) -> None:
    assert formats.nhs_number(value) == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, "0 days"),
        (1, "1 day"),
        (20, "2 weeks"),
        (100, "3 months"),
        (800, "2 years"),
        (None, "Age not known"),
    ],
)
def test_age(days: int | None, expected: str) -> None:
    assert formats.age(days) == expected


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("open", "New"),
        ("acknowledged", "Acknowledged"),
        ("evidence-changed", "Evidence changed"),
        ("withdrawn", "Withdrawn"),
        ("closed", "Closed"),
        ("escalated-to-mash", "Escalated to mash"),  # a state added later still reads
    ],
)
def test_every_state_has_words(state: str, words: str) -> None:
    assert labels.FILTERS["state_label"](state) == words
    assert labels.FILTERS["state_tag"](state).startswith("nhsuk-tag--")
