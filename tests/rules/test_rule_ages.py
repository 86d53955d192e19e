"""Issue 8 items 5 and 6 in the rules: ages in calendar years/months/days on the Europe/London
date, "under one" = before the first birthday, partial birth dates on the side of the child."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from rulekit import Kit

from app.fhir.dates import local_date
from app.rules import EventView, load_rules

INFANT = "infant-wnb"


def at_age(birth: date, at: datetime, uncertain: int = 0, child: str = "c1") -> EventView:
    """An event as coding makes it: age from the (latest) birth date to the local date."""
    return EventView(
        f"{child}:{at.isoformat()}",
        child,
        at,
        "was-not-brought",
        service_key="gp",
        age_days=(local_date(at) - birth).days,
        age_uncertain_days=uncertain,
    )


@pytest.mark.parametrize(
    ("birth", "at", "infant"),
    [
        # Born 1 Mar 2023: 29 Feb 2024 is the day before the first birthday (365 days old,
        # which a 364-day limit got wrong).
        (date(2023, 3, 1), datetime(2024, 2, 29, 9, 0, tzinfo=UTC), True),
        (date(2023, 3, 1), datetime(2024, 3, 1, 9, 0, tzinfo=UTC), False),
        # Born 29 Feb 2024: the first birthday is 1 Mar 2025.
        (date(2024, 2, 29), datetime(2025, 2, 28, 9, 0, tzinfo=UTC), True),
        (date(2024, 2, 29), datetime(2025, 3, 1, 9, 0, tzinfo=UTC), False),
        # Born 10 Jun 2023: 00:30 BST on 10 Jun 2024 (23:30 UTC on the 9th) is the birthday.
        (date(2023, 6, 10), datetime(2024, 6, 9, 22, 30, tzinfo=UTC), True),
        (date(2023, 6, 10), datetime(2024, 6, 9, 23, 30, tzinfo=UTC), False),
    ],
)
def test_infant_means_before_the_first_birthday(
    kit: Kit, birth: date, at: datetime, infant: bool
) -> None:
    assert (INFANT in kit.fired(at_age(birth, at))) == infant


BANDS = """
rules:
  - id: school-age
    version: 1
    description: A school-age child was not brought to an appointment.
    priority: low
    agencies: [school-nursing]
    scope: child
    categories: [was-not-brought]
    age: {at_least: {years: 5}, under: {years: 11, months: 6}}
"""


@pytest.fixture
def bands(write_rules: Callable[..., Path]) -> Kit:
    return Kit(load_rules(write_rules(BANDS)))


AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("birth", "uncertain", "fires"),
    [
        (date(2021, 6, 1), 0, True),  # fifth birthday
        (date(2021, 6, 2), 0, False),  # the day before it
        (date(2014, 12, 2), 0, True),  # 11 years 5 months 30 days
        (date(2014, 12, 1), 0, False),  # 11 years 6 months
        # Born in 2021 (latest 31 Dec): may already be five, so the band may hold.
        (date(2021, 12, 31), 364, True),
        # Born in 2014 (latest 31 Dec): may be 11 years 5 months, so the band may hold.
        (date(2014, 12, 31), 364, True),
        # Born in 2022: cannot yet be five.
        (date(2022, 12, 31), 364, False),
    ],
)
def test_bands_in_years_and_months_hold_for_any_possible_birth_date(
    bands: Kit, birth: date, uncertain: int, fires: bool
) -> None:
    firing = bands.fired(at_age(birth, AT, uncertain)).get("school-age")
    assert (firing is not None) == fires
    if firing is not None:
        assert firing.age_uncertain_child_ids == (("c1",) if uncertain else ())


def test_an_uncertain_age_is_named_in_the_firing(kit: Kit) -> None:
    # Born "2025" (latest 31 Dec 2025): may be under one on 1 Jun 2026.
    firing = kit.fired(at_age(date(2025, 12, 31), AT, uncertain=364))[INFANT]
    assert firing.age_uncertain_child_ids == ("c1",)
    exact = kit.fired(at_age(date(2025, 12, 31), AT))[INFANT]
    assert exact.age_uncertain_child_ids == ()


def test_an_age_span_must_not_be_empty(write_rules: Callable[..., Path]) -> None:
    from app.rules import RuleFileError

    with pytest.raises(RuleFileError, match="give years, months or days"):
        load_rules(write_rules(BANDS.replace("{years: 5}", "{years: 0}")))
