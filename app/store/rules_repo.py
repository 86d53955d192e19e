"""Queries the rule engine needs: a family's events and statuses around a time, through the
(child_id, event_at) index, so the cost follows the family, never the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, literal_column, null, select, union_all
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


# Events and statuses in one round trip (a statement costs more than its rows here): each row
# is an event's columns then a status's, the other side NULL, told apart by `kind`.
_STATUS_COLUMNS = (
    SafeguardingStatus.status,
    SafeguardingStatus.start,
    SafeguardingStatus.end,
    SafeguardingStatus.start_stated,
)
_EVENTS_AND_STATUSES_OF = Prebuilt(
    lambda one_of: union_all(
        select(
            literal_column("0").label("kind"),
            *EVENT_COLUMNS,
            *(null().cast(c.type).label(c.key) for c in _STATUS_COLUMNS),
        ).where(one_of(CodedEvent.child_id, "ids"), CodedEvent.is_child),
        select(
            literal_column("1"),
            *(
                SafeguardingStatus.child_id if c is CodedEvent.child_id else null().cast(c.type)
                for c in EVENT_COLUMNS
            ),
            *_STATUS_COLUMNS,
        ).where(one_of(SafeguardingStatus.child_id, "ids")),
    ).order_by("kind", "event_at", "pk")
)
StatusRow = tuple[str, str, datetime | None, datetime | None, bool]


def events_and_statuses_of(
    session: Session, child_ids: list[str]
) -> tuple[list[EventRow], list[StatusRow]]:
    """`events_of_children` and `statuses_of` in one statement."""
    if not child_ids:
        return [], []
    events: list[Any] = []
    statuses: list[StatusRow] = []
    width = len(EVENT_COLUMNS) + 1
    child = EVENT_COLUMNS.index(CodedEvent.child_id) + 1
    for row in _EVENTS_AND_STATUSES_OF.rows(session, {"ids": child_ids}):
        if row[0] == 0:
            events.append(row[1:width])
        else:
            statuses.append((row[child], *row[width:]))
    return events, statuses


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
