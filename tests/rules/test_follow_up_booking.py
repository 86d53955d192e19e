"""Issue 8 item 7: not-rebooked counts a rebooking from when it was made (booked_at), whatever
date it is for, and an attendance from when it happened."""

from __future__ import annotations

from datetime import datetime

import pytest
from rulekit import Kit, day

from app.rules import EventView

RULE = "not-rebooked"
MISSED = EventView("miss", "c1", day(0), "was-not-brought", service_key="gp", age_days=3000)


def later(
    category: str,
    at: float,
    booked: float | None,
    service: str | None = "gp",
    event_id: str = "next",
) -> EventView:
    return EventView(
        event_id,
        "c1",
        day(at),
        category,
        service_key=service,
        age_days=3000,
        booked_at=None if booked is None else day(booked),
    )


@pytest.mark.parametrize(
    ("follow", "fires"),
    [
        # Booked 2 days after the miss for a date 30 days later: rebooked.
        (later("booked", 30, 2), False),
        # Booked 70 days before the miss for a date 10 days after it: not a rebooking.
        (later("booked", 10, -70), True),
        # Booked on the last local day of the window (14 Jan 2024 + ..., GMT): rebooked.
        (later("booked", 40, 14.6), False),
        (later("booked", 40, 14.63), True),  # 16 Jan 00:07: one day too late
        # Booked in time, then attended or missed again: it was still rebooked.
        (later("attended", 30, 2), False),
        (later("was-not-brought", 30, 2), False),
        # Booked in time but cancelled: not a rebooking.
        (later("carer-cancelled", 30, 2), True),
        (later("cancelled-unknown", 30, 2), True),
        # An attendance within the window counts, however long ago it was booked.
        (later("attended", 10, -70), False),
        (later("attended", 20, -70), True),
        # Another service's booking does not answer this one.
        (later("booked", 30, 2, service="dental"), True),
        # Without booked_at (a caller that does not know it) the appointment's date is used.
        (later("booked", 10, None), False),
        (later("booked", 30, None), True),
        # The missed appointment's own booking never follows itself up.
        (later("booked", 0, 2, event_id="miss"), True),
    ],
)
def test_a_rebooking_counts_from_when_it_was_made(kit: Kit, follow: EventView, fires: bool) -> None:
    now: datetime = day(60)
    assert (RULE in kit.fired(MISSED, [follow], now=now, due=True)) == fires
