"""family-wnb: 2+ children of one family each with a WNB within 90 days."""

from __future__ import annotations

import pytest
from rulekit import Kit

from app.rules import EventView

RULE = "family-wnb"
E = Kit.event


@pytest.mark.parametrize(
    ("history", "trigger", "children", "evidence"),
    [
        ([], E(0), None, None),
        # One child twice is not a family pattern.
        ([E(0)], E(10), None, None),
        (
            [E(0, child="c2")],
            E(90),
            ("c1", "c2"),
            ("c2:was-not-brought:gp:d0", "c1:was-not-brought:gp:d90"),
        ),
        ([E(0, child="c2")], E(91), None, None),
        # Only WNB counts for this rule.
        # A sibling's no-access visit counts like a WNB (the shipped policy).
        (
            [E(0, "no-access", child="c2")],
            E(10),
            ("c1", "c2"),
            ("c2:no-access:gp:d0", "c1:was-not-brought:gp:d10"),
        ),
        # A sibling's carer cancellation does not.
        ([E(0, "carer-cancelled", child="c2")], E(10), None, None),
        ([E(0, "carer-cancelled", child="c2")], E(10), None, None),
        # Three children, one of them twice: every event in the window is evidence.
        (
            [E(0, child="c2"), E(5, child="c3"), E(6)],
            E(10),
            ("c1", "c2", "c3"),
            (
                "c2:was-not-brought:gp:d0",
                "c3:was-not-brought:gp:d5",
                "c1:was-not-brought:gp:d6",
                "c1:was-not-brought:gp:d10",
            ),
        ),
        # A sibling's later WNB, the trigger back-dated.
        (
            [E(50, child="c2")],
            E(0),
            ("c1", "c2"),
            ("c1:was-not-brought:gp:d0", "c2:was-not-brought:gp:d50"),
        ),
        # The trigger must be evidence: siblings' old pattern, this child's attendance.
        ([E(0, child="c2"), E(1, child="c3")], E(2, "attended"), None, None),
    ],
)
def test_family(
    kit: Kit,
    history: list[EventView],
    trigger: EventView,
    children: tuple[str, ...] | None,
    evidence: tuple[str, ...] | None,
) -> None:
    firing = kit.fired(trigger, history).get(RULE)
    if children is None:
        assert firing is None
    else:
        assert firing is not None
        assert (firing.child_ids, firing.evidence_event_ids) == (children, evidence)
        expected = f"{len(children)} children in the family not brought within 90 days"
        assert firing.description == expected
