"""Queries the rule engine needs: a family's events and statuses around a time, through the
(child_id, event_at) index, so the cost follows the family, never the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.orm import Session

from app.store.models import CodedEvent, SafeguardingStatus
from app.store.prebuilt import Prebuilt

EVENT_COLUMNS = (
    CodedEvent.pk,
    CodedEvent.resource_type,
    CodedEvent.resource_id,
    CodedEvent.child_id,
    CodedEvent.event_at,
    CodedEvent.category,
    CodedEvent.service_key,  # the rules compare services by key, not by the source's code
    CodedEvent.age_days,
    CodedEvent.booked_at,
    CodedEvent.age_uncertain_days,
    CodedEvent.organisation,  # where it happened: evidence, and organisation-only matching
)
# A row of EVENT_COLUMNS, in their order.
EventRow = Row[
    int, str, str, str, datetime, str, str | None, int | None, datetime | None, int, str | None
]
# Built once (every reconciliation runs them), run on the connection.
_EVENTS_OF_CHILDREN = Prebuilt(
    lambda one_of: (
        select(*EVENT_COLUMNS)
        .where(one_of(CodedEvent.child_id, "ids"), CodedEvent.is_child)
        .order_by(CodedEvent.event_at, CodedEvent.pk)
    )
)
_STATUSES_OF = Prebuilt(
    lambda one_of: select(
        SafeguardingStatus.child_id, SafeguardingStatus.status, SafeguardingStatus.start,
        SafeguardingStatus.end, SafeguardingStatus.start_stated,
    ).where(one_of(SafeguardingStatus.child_id, "ids"))
)  # fmt: skip


def events_of_children(session: Session, child_ids: list[str]) -> Sequence[EventRow]:
    """Every child's event of these patients (EVENT_COLUMNS), through (child_id, event_at):
    a family's whole history, which is what its flags are judged on."""
    if not child_ids:
        return []
    return _EVENTS_OF_CHILDREN.rows(session, {"ids": child_ids})


def statuses_of(
    session: Session, child_ids: list[str]
) -> Sequence[Row[str, str, datetime | None, datetime | None, bool]]:
    """(child_id, status, start, end, start_stated) of every safeguarding status of these
    children."""
    if not child_ids:
        return []
    return _STATUSES_OF.rows(session, {"ids": child_ids})


StatusBounds = tuple[str, datetime | None, datetime | None]  # (child, start, end)


def delete_status(session: Session, resource_pk: int) -> list[StatusBounds]:
    """Forget the status this Flag stated; (child, start, end) of what it stated."""
    rows = session.execute(
        delete(SafeguardingStatus)
        .where(SafeguardingStatus.resource_pk == resource_pk)
        .returning(SafeguardingStatus.child_id, SafeguardingStatus.start, SafeguardingStatus.end)
    ).all()
    return [(child, start, end) for child, start, end in rows]


def add_status(session: Session, resource_pk: int, row: dict[str, Any]) -> None:
    session.execute(insert(SafeguardingStatus), [{"resource_pk": resource_pk, **row}])


def event_facts(session: Session, refs: set[str]) -> dict[str, list[CodedEvent]]:
    """The coded events behind each reference ("Appointment/id"): one per child of a joint
    appointment."""
    ids = [r.partition("/")[2] for r in refs]
    if not ids:
        return {}
    rows = session.scalars(select(CodedEvent).where(CodedEvent.resource_id.in_(ids)))
    out: dict[str, list[CodedEvent]] = {}
    for e in rows:
        ref = f"{e.resource_type}/{e.resource_id}"
        if ref in refs:
            out.setdefault(ref, []).append(e)
    return out
