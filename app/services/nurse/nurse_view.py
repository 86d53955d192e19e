"""The nurse views the services share: a raised flag and a review as the shapes the API
serves (`shapes.concern`), and a coded outcome's fields, which each view places in its own
shape (a flag's evidence, a chronology's event)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, cast

import orjson
from sqlalchemy.orm import Session

from app.services.nurse.child_summary import children
from app.services.nurse.shapes.concern import (
    ChildSummary,
    ConcernReason,
    FlagLinks,
    Priority,
    Review,
    ReviewAction,
    Reviewer,
    ReviewerKind,
    ReviewOutcome,
    WorklistItem,
)
from app.store import family_repo
from app.store.models import CodedEvent, FlagReview, RaisedFlag


def flag_item(row: RaisedFlag, child: ChildSummary, family_id: str | None) -> WorklistItem:
    """`family_id` is the child's family now (families merge and split as carers arrive)."""
    return WorklistItem(
        flag_id=row.flag_id,
        reasons=reasons_of(row),
        # The stored words are the shape's; pydantic checks them as the item is built.
        priority=cast(Priority, row.priority),
        state=row.state,
        outcome=row.outcome,
        description=row.description,
        child=child,
        family_id=family_id or row.family_id,
        organisation=row.organisation,
        opened_at=row.opened_at,
        last_event_at=row.last_event_at,
        closed_at=row.closed_at,
        evidence=row.evidence_events,
        links=FlagLinks(
            flag=f"/fhir/Flag/{row.flag_id}",
            chronology=f"/api/children/{row.child_id}/chronology",
        ),
    )


def reasons_of(row: RaisedFlag) -> list[ConcernReason]:
    """A concern's reasons as the API shows them, highest priority first."""
    return [
        ConcernReason(
            rule_id=r["rule"],
            rule_version=r["version"],
            priority=r["priority"],
            summary=r["summary"],
            agencies=r.get("agencies", []),
            evidence=r.get("events", []),
        )
        for r in (row.reasons or [])
    ]


def flag_items(session: Session, rows: Sequence[RaisedFlag], today: date) -> list[WorklistItem]:
    ids = [r.child_id for r in rows]
    kids = children(session, ids, today)
    families = family_repo.families_of(session, ids)
    return [flag_item(r, kids[r.child_id], families.get(r.child_id)) for r in rows]


def review_view(r: FlagReview, names: Mapping[str, str] | None = None) -> Review:
    """A review; `names` gives people's display names by username."""
    name = (names or {}).get(r.by_id) if r.by_kind == "user" else None
    return Review(
        at=r.at,
        # The stored words are the shape's; pydantic checks them as the review is built.
        by=Reviewer(kind=cast(ReviewerKind, r.by_kind), id=r.by_id, name=name),
        action=cast(ReviewAction, r.action),
        outcome=cast(ReviewOutcome | None, r.outcome),
        note=r.note,
        flag_version=r.flag_version,
    )


def event_display(e: CodedEvent) -> dict[str, Any]:
    """A coded appointment outcome: what happened, where, as the source system said it (the
    fields of `EventFields`, which a flag's evidence and a chronology's event both carry)."""
    original = orjson.loads(e.original_codes)
    status = next(
        (
            c.get("code")
            for c in original
            if c.get("system") == "http://hl7.org/fhir/appointmentstatus"
        ),
        None,
    )
    return {
        "at": e.event_at,
        "resource": f"{e.resource_type}/{e.resource_id}",
        "patient_id": e.child_id,
        "category": e.category,
        "status": status or None,
        "outcome": {"system": e.outcome_system, "code": e.outcome_code},
        "service": (
            {"system": e.service_system, "code": e.service_code, "display": e.service_display}
            if e.service_code
            else None
        ),
        "organisation": e.organisation,
        "organisation_name": e.organisation_name,  # the source's display; a page names it better
        "source": e.source_system,
        "age_days": e.age_days,
        "recorded_at": e.recorded_at,
    }
