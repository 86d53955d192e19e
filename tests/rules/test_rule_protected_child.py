"""protected-child: any WNB or no-access while a safeguarding status is active at the event."""

from __future__ import annotations

import pytest
from rulekit import Kit, day

from app.rules import StatusView

RULE = "protected-child"


def status(kind: str, start: float | None, end: float | None, child: str = "c1") -> StatusView:
    return StatusView(
        child_id=child,
        status=kind,
        start=None if start is None else day(start),
        end=None if end is None else day(end),
    )


@pytest.mark.parametrize(
    ("category", "statuses", "fires"),
    [
        ("was-not-brought", [], False),
        ("was-not-brought", [status("cp-plan", -30, None)], True),
        ("was-not-brought", [status("looked-after", None, None)], True),
        ("no-access", [status("child-in-need", -1, None)], True),
        # Open/closed at the event time, both ends inclusive.
        ("was-not-brought", [status("cp-plan", 11, None)], False),
        ("was-not-brought", [status("cp-plan", 10, None)], True),
        ("was-not-brought", [status("cp-plan", 10.0, 20)], True),
        ("was-not-brought", [status("cp-plan", 0, 10)], True),
        ("was-not-brought", [status("cp-plan", -30, 9.99)], False),
        ("was-not-brought", [status("cp-plan", 10.01, 30)], False),
        # Another child's plan does not make this child protected.
        ("was-not-brought", [status("cp-plan", -30, None, child="c2")], False),
        # Only missed appointments count.
        ("carer-cancelled", [status("cp-plan", -30, None)], False),
        ("attended", [status("cp-plan", -30, None)], False),
        ("provider-cancelled", [status("cp-plan", -30, None)], False),
    ],
)
def test_protected_child(kit: Kit, category: str, statuses: list[StatusView], fires: bool) -> None:
    trigger = kit.event(10, category)
    firing = kit.fired(trigger, statuses=statuses).get(RULE)
    if not fires:
        assert firing is None
        return
    assert firing is not None
    assert firing.child_ids == ("c1",)
    assert firing.evidence_event_ids == (trigger.event_id,)
    assert firing.priority == "high"
    assert firing.rule_version == 1
    assert firing.trigger_event_id == trigger.event_id
    assert "social-care" in firing.agencies


def test_every_missed_appointment_of_a_protected_child_fires_alone(kit: Kit) -> None:
    plan = [status("cp-plan", -100, None)]
    earlier = kit.event(1, service="dental")
    firing = kit.fired(kit.event(10), [earlier], plan)[RULE]
    # One WNB is enough: the earlier one is not evidence for this one.
    assert firing.evidence_event_ids == ("c1:was-not-brought:gp:d10",)
