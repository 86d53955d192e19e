"""A new version of a coded resource against the events stored for the old one: a recorded
miss stands until a final outcome replaces it, and a booking keeps when it was first made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.fhir.coding import Outcome
from app.fhir.terminology import MISSED
from app.store.models import CodedEvent

# Appointment statuses that say nothing about what happened: a source re-sending an old
# "booked" copy after the child was recorded as not brought must not erase the miss.
NOT_AN_OUTCOME = frozenset({"proposed", "pending", "booked", "waitlist"})


def carry_forward(
    data: dict[str, Any], found: list[Outcome], stored: Sequence[CodedEvent], now: datetime
) -> tuple[list[Outcome], bool]:
    """The outcomes to store for this version, and whether the stored events stand instead.

    Only `entered-in-error` (no outcome) or another final outcome (attended, cancelled, a
    different miss) replaces a coded miss. `booked_at` falls back to when the appointment was
    first stored (for a new resource now, for an update the stored event's booking time), but
    never later than the appointment's own time.
    """
    if (
        data["resourceType"] == "Appointment"
        and data.get("status") in NOT_AN_OUTCOME
        and any(e.category in MISSED for e in stored)
    ):
        return [], True
    first_stored = {e.child_id: e.booked_at or e.recorded_at for e in stored}
    earliest = min(first_stored.values(), default=now)
    # Nobody books an appointment after it took place: history loaded late is dated by the
    # appointment itself, never by the day it reached this service.
    return [
        o
        if o.booked_at
        else replace(o, booked_at=min(first_stored.get(o.child_id, earliest), o.event_at))
        for o in found
    ], False
