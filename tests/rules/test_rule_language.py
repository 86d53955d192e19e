"""Parts of the rule language the shipped rules do not use: consecutive runs, years, reach."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from rulekit import Kit, day

from app.rules import EventView, load_rules
from app.rules.desired import next_due

E = Kit.event
CONSECUTIVE = """
rules:
  - id: two-in-a-row
    version: 3
    description: Two missed appointments in a row, within 180 days.
    summary: "{events} in a row"
    priority: high
    agencies: [gp]
    scope: child
    categories: [was-not-brought, no-access]
    threshold: 2
    window_days: 180
    consecutive: true
  - id: under-fives
    version: 1
    description: A child under five was not brought, at a follow-up window of 21 days.
    priority: low
    agencies: [health-visiting]
    scope: child
    categories: [was-not-brought]
    age: {min_years: 1, max_years: 4}
    no_follow_up: {within_days: 21, same_service: false}
"""


@pytest.fixture
def lang(write_rules: Callable[..., Path]) -> Kit:
    return Kit(load_rules(write_rules(CONSECUTIVE)))


@pytest.mark.parametrize(
    ("history", "trigger", "evidence"),
    [
        ([E(0)], E(10), ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d10")),
        ([E(0), E(5, "attended")], E(10), None),
        # Only an attended appointment breaks a run.
        (
            [E(0), E(4, "booked"), E(5, "carer-cancelled"), E(6, "provider-cancelled")],
            E(10),
            ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d10"),
        ),
        # Another child's attendance does not break this child's run.
        (
            [E(0), E(5, "attended", child="c2")],
            E(10),
            ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d10"),
        ),
        # A new run after an attendance: only the events after it count.
        (
            [E(0), E(5, "attended"), E(7, "no-access")],
            E(10),
            ("c1:no-access:gp:d7", "c1:was-not-brought:gp:d10"),
        ),
        # Back-dated trigger: the run it belongs to is before the attendance.
        ([E(10, "attended"), E(20)], E(0), None),
        ([E(0), E(5, "attended")], E(181), None),
    ],
)
def test_consecutive(
    lang: Kit, history: list[EventView], trigger: EventView, evidence: tuple[str, ...] | None
) -> None:
    firing = lang.fired(trigger, history).get("two-in-a-row")
    if evidence is None:
        assert firing is None
    else:
        assert firing is not None
        assert firing.evidence_event_ids == evidence
        assert (firing.rule_version, firing.description) == (3, "2 in a row")


@pytest.mark.parametrize(
    ("age_days", "fires"),
    [(364, False), (365, True), (1825, True), (1826, False), (None, False)],
)
def test_age_in_completed_years(lang: Kit, age_days: int | None, fires: bool) -> None:
    # Calendar years on 1 Jan 2024: 365 days old is born 1 Jan 2023 (1 today); 1826 days old
    # is born 1 Jan 2019, five today, so no longer "under five".
    firing = lang.fired(E(0, age_days=age_days), now=day(30)).get("under-fives")
    assert (firing is not None) == fires
    if firing is not None:
        # Without a summary the nurse sees the rule's description.
        assert firing.description.startswith("A child under five was not brought")


def test_follow_up_at_any_service_when_same_service_is_false(lang: Kit) -> None:
    trigger = E(0, age_days=800, service="gp")
    # The window runs to the end of the 21st local calendar day after the miss (22 Jan 2024).
    other_service = E(21.6, "attended", service="dental")
    assert "under-fives" not in lang.fired(trigger, [other_service], now=day(22), due=True)
    late = E(21.7, "attended", service="dental")
    assert "under-fives" in lang.fired(trigger, [late], now=day(22), due=True)


def test_lookback_covers_window_and_follow_up(lang: Kit) -> None:
    assert lang.rules.lookback_days() == 181  # a local day may start before its UTC date
    assert next_due(lang.rules, [E(0, age_days=800)], now=day(0)) == day(21.625)


def test_events_need_aware_times_and_known_categories() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EventView("e1", "c1", datetime(2024, 1, 1), "was-not-brought", None, None)
    with pytest.raises(ValueError, match="unknown category 'dna'"):
        EventView("e1", "c1", day(0), "dna", None, None)
