"""The items of a chronology: outcomes, safeguarding statuses, flags and reviews, each a
shape of `shapes.chronology` (at, kind, child_id, carer, ...), put in time order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import orjson

from app.fhir.raised_flag import concern_priority, is_concern, reasons_of
from app.services.nurse.nurse_view import event_display, review_view
from app.services.nurse.shapes.chronology import (
    ChronologyItem,
    EventItem,
    FlagItem,
    ReviewItem,
    StatusItem,
)
from app.store.models import (
    CodedEvent,
    FlagReview,
    RaisedFlag,
    ResourceVersion,
    SafeguardingStatus,
)

FlagStep = Literal["flag-opened", "flag-updated", "flag-closed"]
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
) -> list[EventItem]:
    """`carers` maps a carer's Patient id to the carer's key: their events name no child."""
    carers = carers or {}
    return [
        EventItem(
            kind="event",
            child_id=None if e.child_id in carers else e.child_id,
            carer=carers.get(e.child_id),
            **event_display(e),
        )
        for e in events
    ]


def status_items(
    statuses: Sequence[tuple[SafeguardingStatus, str, datetime]], now: datetime
) -> list[StatusItem]:
    out: list[StatusItem] = []
    for s, resource, updated in statuses:
        base: dict[str, Any] = {
            "child_id": s.child_id,
            "carer": None,
            "status": s.status,
            "start": s.start,
            "start_stated": s.start_stated,  # else the start is when the service learned of it
            "end": s.end,
            "resource": resource,
        }
        out.append(StatusItem(at=s.start or updated, kind="status-start", **base))
        if s.end is not None and s.end <= now:  # a planned end has not happened yet
            out.append(StatusItem(at=s.end, kind="status-end", **base))
    return out


def versions_needed(
    flags: Sequence[RaisedFlag], stamps: Iterable[tuple[str, int, datetime]]
) -> set[tuple[str, int]]:
    """(flag id, version) of the version in force at each step `flag_history_items` shows
    (opened, updated, closed): the only versions whose content the chronology reads."""
    by_flag: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for fid, version, at in stamps:
        by_flag[fid].append((version, at))
    needed: set[tuple[str, int]] = set()
    for f in flags:
        steps = [f.opened_at, f.updated_at, *([f.closed_at] if f.closed_at else [])]
        for at in steps:
            then = [v for v, written in by_flag[f.flag_id] if written <= at]
            if then:
                needed.add((f.flag_id, then[-1]))
    return needed


def flag_history_items(
    flags: Sequence[RaisedFlag], versions: Sequence[ResourceVersion] = ()
) -> list[FlagItem]:
    """A flag's opening, latest update and closing, each with the reasons and priority of
    the Flag version in force then (`versions`, each Flag's in version order): a concern
    raised for one reason and given a second later showed both at its opening otherwise."""
    by_flag: dict[str, list[ResourceVersion]] = defaultdict(list)
    for v in versions:
        by_flag[v.id].append(v)
    out: list[FlagItem] = []
    for f in flags:
        base: dict[str, Any] = {
            "child_id": f.child_id,
            "carer": None,
            "flag_id": f.flag_id,
            "rule_id": f.rule_id,
            "reasons": f.reason_rules.split(),
            "reason_details": _stored_reasons(f),
            "rule_version": f.rule_version,
            "priority": f.priority,
            "state": f.state,
            "outcome": f.outcome,
            "description": f.description,
            "evidence": f.evidence_events,
        }
        steps: list[tuple[FlagStep, datetime]] = [("flag-opened", f.opened_at)]
        if f.updated_at > f.opened_at:  # new evidence joined the flag
            steps.append(("flag-updated", f.updated_at))
        if f.closed_at is not None:
            steps.append(("flag-closed", f.closed_at))
        for kind, at in steps:
            out.append(FlagItem(at=at, kind=kind, **{**base, **_as_of(by_flag[f.flag_id], at)}))
    return out


def _as_of(versions: list[ResourceVersion], at: datetime) -> dict[str, Any]:
    """The reasons and priority of the last version written by `at`; nothing (the row's
    values stand) when none was, or it is not a concern (a flag raised before concerns)."""
    then = [v for v in versions if v.last_updated <= at]
    if not then:
        return {}
    flag = orjson.loads(then[-1].content)
    if not is_concern(flag):
        return {}
    details = reasons_of(flag)
    priority = concern_priority(flag)
    return {
        "reasons": sorted(r["rule_id"] for r in details),  # as `reason_rules` gives them
        "reason_details": details,
        **({"priority": priority} if priority else {}),
    }


def _stored_reasons(f: RaisedFlag) -> list[dict[str, str]]:
    return [
        {"rule_id": r["rule"], "priority": r["priority"], "summary": r["summary"]}
        for r in (f.reasons or [])
    ]


def review_items(
    reviews: Sequence[FlagReview], flags: Sequence[RaisedFlag], names: dict[str, str]
) -> list[ReviewItem]:
    by_pk = {f.pk: f for f in flags}
    return [
        ReviewItem(
            kind="review",
            child_id=by_pk[r.flag_pk].child_id,
            carer=None,
            flag_id=by_pk[r.flag_pk].flag_id,
            rule_id=by_pk[r.flag_pk].rule_id,
            **dict(review_view(r, names)),
        )
        for r in reviews
        if r.flag_pk in by_pk
    ]


def in_time_order(items: list[ChronologyItem]) -> list[ChronologyItem]:
    """Oldest first; at one instant in KIND_ORDER, then by child; otherwise as given."""
    return sorted(items, key=lambda i: (i.at, KIND_ORDER[i.kind], i.child_id or "", i.carer or ""))
