"""repeat-wnb: 2+ WNB/no-access for one child within 365 days, consecutive or not."""

from __future__ import annotations

import pytest
from rulekit import Kit

from app.rules import EventView

RULE = "repeat-wnb"
E = Kit.event


@pytest.mark.parametrize(
    ("history", "trigger", "evidence"),
    [
        ([], E(0), None),
        ([E(0)], E(365), ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d365")),
        # Calendar days: later on day 365 is still within 365 days; day 366 is not.
        ([E(0)], E(365.5), ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d365.5")),
        ([E(0)], E(366), None),
        ([E(0, "no-access")], E(30), ("c1:no-access:gp:d0", "c1:was-not-brought:gp:d30")),
        ([E(0)], E(30, "no-access"), ("c1:was-not-brought:gp:d0", "c1:no-access:gp:d30")),
        # Not consecutive: an attended appointment in between does not matter.
        (
            [E(0), E(10, "attended")],
            E(20),
            ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d20"),
        ),
        # Threshold: cancellations and attendances are not missed appointments.
        ([E(0, "carer-cancelled"), E(5, "provider-cancelled")], E(10), None),
        # A sibling's WNB is not this child's.
        ([E(0, child="c2")], E(10), None),
        # Three in a year: all are evidence; one older than a year is not.
        (
            [E(-400), E(0), E(100)],
            E(200),
            (
                "c1:was-not-brought:gp:d0",
                "c1:was-not-brought:gp:d100",
                "c1:was-not-brought:gp:d200",
            ),
        ),
        # A back-dated event completes a pattern with a later one (window both ways).
        ([E(365)], E(0), ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d365")),
        # The trigger must be evidence: a new non-missed event does not re-report old misses.
        ([E(0), E(10)], E(20, "attended"), None),
    ],
)
def test_repeat(
    kit: Kit, history: list[EventView], trigger: EventView, evidence: tuple[str, ...] | None
) -> None:
    firing = kit.fires_for_c1(RULE, trigger, history, evidence)
    if firing is not None and evidence is not None:
        assert firing.description == f"{len(evidence)} missed appointments within 365 days"


def test_window_must_hold_the_trigger_and_all_evidence(kit: Kit) -> None:
    # d0 and d400 are each within 365 days of d200 but not of each other: the best window holding
    # the trigger has two events, and the earliest such window is reported.
    firing = kit.fired(E(200), [E(0), E(400)])[RULE]
    assert firing.evidence_event_ids == ("c1:was-not-brought:gp:d0", "c1:was-not-brought:gp:d200")
