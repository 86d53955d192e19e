"""A stored coded event as the rules read it: one way to build an EventView from a row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from app.fhir.service_key import organisation_key
from app.rules import EventView


def event_view(row: Sequence[Any], child_id: str) -> EventView:
    """`row` starts with the eleven columns of `rules_repo.EVENT_COLUMNS` in their order (the
    first, a key of the caller's, and any after the eleventh are not read; `backtest_repo`
    rows have the same layout); `child_id` is the record the event counts as (a merged
    record's survivor)."""
    _, resource_type, resource_id, _, at, category, service_key, age_days, booked, span = row[:10]
    organisation = row[10]
    # Read through a raw column (backtest_repo, for speed), SQLite gives naive UTC instants.
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if booked is not None and booked.tzinfo is None:
        booked = booked.replace(tzinfo=UTC)
    return EventView(
        event_id=f"{resource_type}/{resource_id}",
        child_id=child_id,
        at=at,
        category=category,
        service_key=service_key,
        age_days=age_days,
        booked_at=booked,
        age_uncertain_days=span,
        place=organisation_key(organisation),
    )
