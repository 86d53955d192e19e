"""The items of a chronology: outcomes, safeguarding statuses, flags and reviews, each
{at, kind, child_id, carer, ...}, put in time order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from app.services.nurse_view import event_view, review_view
from app.store.models import CodedEvent, FlagReview, RaisedFlag, SafeguardingStatus

# At one instant: a status begins, the outcome arrives, the flag it raised opens, people
# review it, it closes, a status ends.
KIND_ORDER = {
    "status-start": 0,
    "identity-change": 1,
    "event": 1,
    "flag-opened": 2,
    "flag-updated": 3,
    "review": 4,
    "flag-closed": 5,
    "notified": 5,
    "shared": 5,
    "status-end": 6,
}


def event_items(
    events: Sequence[CodedEvent], carers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """`carers` maps a carer's Patient id to the carer's key: their events name no child."""
    carers = carers or {}
    return [
        {
            "kind": "event",
            "child_id": None if e.child_id in carers else e.child_id,
            "carer": carers.get(e.child_id),
            **event_view(e),
        }
        for e in events
    ]


def status_items(
    statuses: Sequence[tuple[SafeguardingStatus, str, datetime]], now: datetime
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s, resource, updated in statuses:
        base = {
            "child_id": s.child_id,
            "carer": None,
            "status": s.status,
            "start": s.start,
            "start_stated": s.start_stated,  # else the start is when the service learned of it
            "end": s.end,
            "resource": resource,
        }
        out.append({"at": s.start or updated, "kind": "status-start", **base})
        if s.end is not None and s.end <= now:  # a planned end has not happened yet
            out.append({"at": s.end, "kind": "status-end", **base})
    return out


def flag_history_items(flags: Sequence[RaisedFlag]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in flags:
        base = {
            "child_id": f.child_id,
            "carer": None,
            "flag_id": f.flag_id,
            "rule_id": f.rule_id,
            "reasons": f.reason_rules.split(),
            "rule_version": f.rule_version,
            "priority": f.priority,
            "state": f.state,
            "outcome": f.outcome,
            "description": f.description,
            "evidence": orjson.loads(f.evidence_events),
        }
        out.append({"at": f.opened_at, "kind": "flag-opened", **base})
        if f.updated_at > f.opened_at:  # new evidence joined the flag
            out.append({"at": f.updated_at, "kind": "flag-updated", **base})
        if f.closed_at is not None:
            out.append({"at": f.closed_at, "kind": "flag-closed", **base})
    return out


def review_items(
    reviews: Sequence[FlagReview], flags: Sequence[RaisedFlag], names: dict[str, str]
) -> list[dict[str, Any]]:
    by_pk = {f.pk: f for f in flags}
    return [
        {
            "kind": "review",
            "child_id": by_pk[r.flag_pk].child_id,
            "carer": None,
            "flag_id": by_pk[r.flag_pk].flag_id,
            "rule_id": by_pk[r.flag_pk].rule_id,
            **review_view(r, names),
        }
        for r in reviews
        if r.flag_pk in by_pk
    ]


def in_time_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first; at one instant in KIND_ORDER, then by child; otherwise as given."""
    return sorted(
        items,
        key=lambda i: (i["at"], KIND_ORDER[i["kind"]], i.get("child_id") or "", i["carer"] or ""),
    )
