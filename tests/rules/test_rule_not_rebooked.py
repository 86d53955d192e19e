"""not-rebooked: a WNB with no booked/attended same-service event in the 14 days after it."""

from __future__ import annotations

import pytest
from rulekit import Kit, day

from app.rules import EventView
from app.rules.desired import next_due

RULE = "not-rebooked"
E = Kit.event
MISSED = E(0, service="gp")


@pytest.mark.parametrize(
    ("later", "now_day", "fires"),
    [
        # Before the window closes nothing is decided.
        ([], 0, False),
        # Decided at the end of the 14th local calendar day after the miss (16 Jan 00:00 GMT).
        ([], 14, False),
        ([], 14.624, False),
        ([], 14.625, True),
        ([], 30, True),
        # A follow-up with the same service, up to the end of local day 14, answers it.
        ([E(14, "booked", service="gp")], 20, False),
        ([E(14.6, "booked", service="gp")], 20, False),
        ([E(7, "attended", service="gp")], 20, False),
        ([E(0.5, "booked", service="gp")], 20, False),
        ([E(14.63, "booked", service="gp")], 20, True),
        # ...but not at another service, not another child's, not another kind of event.
        ([E(3, "booked", service="dental")], 20, True),
        ([E(3, "booked", service=None)], 20, True),
        ([E(3, "booked", service="gp", child="c2")], 20, True),
        ([E(3, "provider-cancelled", service="gp")], 20, True),
        ([E(3, "was-not-brought", service="gp")], 20, True),
        # An event before the missed one is not a follow-up.
        ([E(-1, "booked", service="gp")], 20, True),
        # The missed appointment's own earlier "booked" row does not follow itself up.
        ([E(0, "booked", service="gp", event_id=MISSED.event_id)], 20, True),
    ],
)
def test_not_rebooked_when_due(
    kit: Kit, later: list[EventView], now_day: float, fires: bool
) -> None:
    firing = kit.fired(MISSED, later, now=day(now_day), due=True).get(RULE)
    if fires:
        assert firing is not None
        assert (firing.child_ids, firing.evidence_event_ids) == (("c1",), (MISSED.event_id,))
        assert firing.description == "Not rebooked with the same service within 14 days"
    else:
        assert firing is None


def test_not_decided_at_ingest_while_the_window_is_open(kit: Kit) -> None:
    assert RULE not in kit.fired(MISSED, now=day(0))
    assert RULE not in kit.fired(MISSED, now=day(13))


def test_decided_at_ingest_for_a_past_dated_event_whose_window_closed(kit: Kit) -> None:
    assert RULE in kit.fired(MISSED, now=day(14.625))
    assert RULE not in kit.fired(MISSED, [E(10, "attended", service="gp")], now=day(30))


def test_unknown_service_is_answered_only_by_unknown_service(kit: Kit) -> None:
    missed = E(0, service=None)
    assert RULE in kit.fired(missed, [E(3, "attended", service="gp")], now=day(20), due=True)
    assert RULE not in kit.fired(missed, [E(3, "attended", service=None)], now=day(20), due=True)


def test_only_missed_appointments_are_checked(kit: Kit) -> None:
    for category in ("attended", "booked", "carer-cancelled", "provider-cancelled"):
        event = E(0, category, service="gp")
        assert RULE not in kit.fired(event, now=day(20), due=True)


def test_the_family_is_judged_again_when_the_window_closes(kit: Kit) -> None:
    assert next_due(kit.rules, [MISSED], now=day(0)) == day(14.625)
    assert next_due(kit.rules, [MISSED], now=day(14.625)) is None  # decided by then
    assert next_due(kit.rules, [E(0, "attended")], now=day(0)) is None
