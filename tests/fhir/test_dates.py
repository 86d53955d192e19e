from datetime import UTC, date, datetime

import pytest

from app.fhir.dates import (
    age_in_years,
    anniversary,
    birth_range,
    fhir_instant,
    local_date,
    parse_range,
)


@pytest.mark.parametrize(
    ("value", "lo", "hi"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-12", datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-02", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-02-29", datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_partial_dates_cover_their_span(value: str, lo: datetime, hi: datetime) -> None:
    assert parse_range(value) == (lo, hi)


def test_datetime_with_zone_becomes_utc() -> None:
    lo, _ = parse_range("2024-06-01T10:00:00+01:00")  # type: ignore[misc]
    assert lo == datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2023-02-29", "tomorrow", "2024-13", "20240101"])
def test_non_dates_are_refused(value: str) -> None:
    assert parse_range(value) is None


def test_age_turns_on_the_birthday() -> None:
    born = date(2008, 6, 15)
    assert age_in_years(born, date(2026, 6, 14)) == 17
    assert age_in_years(born, date(2026, 6, 15)) == 18


def test_instant_format() -> None:
    assert (
        fhir_instant(datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC))
        == "2026-01-02T03:04:05.600Z"
    )


@pytest.mark.parametrize("value", ["9999", "9999-12", "9999-12-31", "0001-01-01"])
def test_the_ends_of_the_calendar(value: str) -> None:
    lo, hi = parse_range(value)  # type: ignore[misc]
    assert lo < hi


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59.999999-05:00", "0001-01-01T00:00:00+05:00"])
def test_moments_beyond_the_calendar_in_utc_are_refused(value: str) -> None:
    assert parse_range(value) is None


@pytest.mark.parametrize(
    ("birth", "years", "months", "days", "reached"),
    [
        (date(2024, 2, 29), 1, 0, 0, date(2025, 3, 1)),  # no 29 Feb: the birthday is 1 March
        (date(2024, 2, 29), 4, 0, 0, date(2028, 2, 29)),
        (date(2023, 3, 1), 1, 0, 0, date(2024, 3, 1)),
        (date(2024, 1, 31), 0, 1, 0, date(2024, 3, 1)),  # no 31 Feb
        (date(2024, 12, 31), 0, 2, 0, date(2025, 3, 1)),
        (date(2024, 5, 10), 0, 6, 14, date(2024, 11, 24)),
    ],
)
def test_anniversary(birth: date, years: int, months: int, days: int, reached: date) -> None:
    assert anniversary(birth, years, months, days) == reached


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        (date(2024, 2, 29), date(2025, 2, 28), 0),
        (date(2024, 2, 29), date(2025, 3, 1), 1),
        (date(2024, 2, 29), date(2028, 2, 28), 3),
        (date(2024, 2, 29), date(2028, 2, 29), 4),
        (date(2008, 6, 1), date(2026, 5, 31), 17),
        (date(2008, 6, 1), date(2026, 6, 1), 18),
    ],
)
def test_completed_years(birth: date, on: date, years: int) -> None:
    assert age_in_years(birth, on) == years


@pytest.mark.parametrize(
    ("moment", "local"),
    [
        (datetime(2026, 5, 31, 23, 30, tzinfo=UTC), date(2026, 6, 1)),  # 00:30 BST
        (datetime(2026, 5, 31, 22, 59, tzinfo=UTC), date(2026, 5, 31)),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), date(2026, 12, 31)),  # GMT
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), date(2026, 3, 29)),  # clocks go forward at 01:00
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), date(2026, 10, 25)),  # BST until 01:00 UTC
    ],
)
def test_local_date_is_europe_london(moment: datetime, local: date) -> None:
    assert local_date(moment) == local


def test_birth_range_of_partial_dates() -> None:
    assert birth_range("2008") == (date(2008, 1, 1), date(2008, 12, 31))
    assert birth_range("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert birth_range("2008-05-01") == (date(2008, 5, 1), date(2008, 5, 1))
