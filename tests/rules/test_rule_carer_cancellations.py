"""carer-cancellations: 3+ carer cancellations for one child within 90 days."""

from __future__ import annotations

import pytest
from rulekit import Kit

from app.rules import EventView

RULE = "carer-cancellations"
CC = "carer-cancelled"
E = Kit.event


@pytest.mark.parametrize(
    ("history", "trigger", "evidence"),
    [
        ([E(0, CC)], E(10, CC), None),
        (
            [E(0, CC), E(45, CC)],
            E(90, CC),
            ("c1:carer-cancelled:gp:d0", "c1:carer-cancelled:gp:d45", "c1:carer-cancelled:gp:d90"),
        ),
        ([E(0, CC), E(45, CC)], E(91, CC), None),
        ([E(0, CC), E(45, "provider-cancelled")], E(50, CC), None),
        ([E(0, CC), E(45, CC, child="c2")], E(50, CC), None),
        ([E(0, CC), E(45, CC)], E(50), None),  # the trigger is a WNB: not a cancellation
        # Not consecutive: attended in between does not break it.
        (
            [E(0, CC), E(1, "attended"), E(2, CC)],
            E(3, CC),
            ("c1:carer-cancelled:gp:d0", "c1:carer-cancelled:gp:d2", "c1:carer-cancelled:gp:d3"),
        ),
    ],
)
def test_carer_cancellations(
    kit: Kit, history: list[EventView], trigger: EventView, evidence: tuple[str, ...] | None
) -> None:
    firing = kit.fired(trigger, history).get(RULE)
    if evidence is None:
        assert firing is None
    else:
        assert firing is not None
        assert (firing.child_ids, firing.evidence_event_ids) == (("c1",), evidence)
        assert firing.priority == "low"
