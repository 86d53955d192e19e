"""Sorting a chronology's items into what the child and family pages show: outcomes, status
periods, flags with their evidence and reviews, and the timeline drawn from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.fhir.concern_state import CLOSED_STATES
from app.services.nurse.shapes.chronology import (
    ChronologyItem,
    EventItem,
    FlagItem,
    ReviewItem,
    StatusItem,
)

NO_SERVICE = "Service not recorded"
CLOSED = frozenset(CLOSED_STATES)


def service_of(item: EventItem) -> str:
    service = item.service
    return (service.display or service.code if service else None) or NO_SERVICE


def events(items: Sequence[ChronologyItem]) -> list[EventItem]:
    return [i for i in items if isinstance(i, EventItem)]


def status_starts(items: Sequence[ChronologyItem]) -> list[StatusItem]:
    return [i for i in items if isinstance(i, StatusItem) and i.kind == "status-start"]


def marks(events: Sequence[EventItem], row_of: Callable[[EventItem], str]) -> list[dict[str, Any]]:
    """The timeline's marks (`timeline.build` draws plain values): when, what, which row."""
    return [{"at": e.at, "category": e.category, "row": row_of(e)} for e in events]


def periods(statuses: Sequence[StatusItem]) -> list[dict[str, Any]]:
    """The timeline's shaded periods: which status, from when to when, whose."""
    return [
        {"status": s.status, "start": s.start, "end": s.end, "child_id": s.child_id}
        for s in statuses
    ]


def row(mark: dict[str, Any]) -> str:
    return str(mark["row"])


def services(events: Sequence[EventItem]) -> list[str]:
    """Services in the order the child first met them: the timeline's rows read top-down
    as the story unfolds."""
    seen: dict[str, None] = {}
    for e in events:
        seen.setdefault(service_of(e), None)
    return list(seen)


def flags(items: Sequence[ChronologyItem]) -> list[dict[str, Any]]:
    """Each flag once, newest first, with its evidence (the outcomes on this chronology it
    names) and its reviews, oldest first: a card's fields (dicts the page owns)."""
    by_resource = {e.resource: e for e in events(items)}
    found: dict[str, dict[str, Any]] = {}
    for i in items:
        if not isinstance(i, FlagItem):
            continue
        # dict(), not model_dump(): the card reads each reason's words (`reason_details`).
        flag = found.setdefault(i.flag_id, {**dict(i), "opened_at": i.at, "reviews": []})
        # The card shows the flag as it stands: its latest item's reasons, not its first's.
        flag.update(
            state=i.state,
            outcome=i.outcome,
            evidence=i.evidence,
            priority=i.priority,
            reasons=i.reason_details,
        )
        if i.kind == "flag-closed":
            flag["closed_at"] = i.at
    for r in items:
        if isinstance(r, ReviewItem) and r.flag_id in found:
            found[r.flag_id]["reviews"].append(r)
    for flag in found.values():
        flag["evidence_items"] = [
            by_resource[ref] for ref in flag["evidence"] if ref in by_resource
        ]
    return sorted(found.values(), key=lambda f: f["opened_at"], reverse=True)


def open_first(
    flag_list: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    current = [f for f in flag_list if not f.get("closed_at") and f["state"] not in CLOSED]
    past = [f for f in flag_list if f not in current]
    return current, past
