"""Queries the rule engine needs: a family's events and statuses around a time, through the
(child_id, event_at) index, so the cost follows the family, never the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.orm import Session

from app.store.models import CodedEvent, DueCheck, SafeguardingStatus

EVENT_COLUMNS = (
    CodedEvent.pk,
    CodedEvent.resource_type,
    CodedEvent.resource_id,
    CodedEvent.child_id,
    CodedEvent.event_at,
    CodedEvent.category,
    CodedEvent.service_code,
    CodedEvent.age_days,
)


def events_between(
    session: Session, child_ids: list[str], start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """Children's events in [start, end] as plain rows (EVENT_COLUMNS): the hot path builds
    value objects from them, so no ORM instances are made."""
    if not child_ids:
        return []
    return session.execute(
        select(*EVENT_COLUMNS)
        .where(
            CodedEvent.child_id.in_(child_ids),
            CodedEvent.event_at >= start,
            CodedEvent.event_at <= end,
            CodedEvent.is_child,
        )
        .order_by(CodedEvent.event_at, CodedEvent.pk)
    ).all()


def statuses_of(session: Session, child_ids: list[str]) -> Sequence[SafeguardingStatus]:
    if not child_ids:
        return []
    return session.scalars(
        select(SafeguardingStatus).where(SafeguardingStatus.child_id.in_(child_ids))
    ).all()


def replace_status(session: Session, resource_pk: int, row: dict[str, Any] | None) -> None:
    session.execute(delete(SafeguardingStatus).where(SafeguardingStatus.resource_pk == resource_pk))
    if row is not None:
        session.execute(insert(SafeguardingStatus), [{"resource_pk": resource_pk, **row}])


def schedule(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(DueCheck), rows)


def claim_due(session: Session, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """Due checks whose time has come (DueCheck.pk, rule_id, then EVENT_COLUMNS), locked so
    several workers share them out (PostgreSQL SKIP LOCKED; SQLite has one writer anyway)."""
    query = (
        select(DueCheck.pk.label("check_pk"), DueCheck.rule_id, *EVENT_COLUMNS)
        .join(CodedEvent, CodedEvent.pk == DueCheck.event_pk)
        .where(DueCheck.due_at <= now)
        .order_by(DueCheck.due_at, DueCheck.pk)
        .limit(limit)
        .with_for_update(skip_locked=True, of=DueCheck)
    )
    return session.execute(query).all()


def done(session: Session, pks: list[int]) -> None:
    if pks:
        session.execute(delete(DueCheck).where(DueCheck.pk.in_(pks)))


def event_facts(session: Session, refs: set[str]) -> dict[str, CodedEvent]:
    """The coded event behind each reference ("Appointment/id")."""
    ids = [r.partition("/")[2] for r in refs]
    if not ids:
        return {}
    rows = session.scalars(select(CodedEvent).where(CodedEvent.resource_id.in_(ids)))
    return {f"{e.resource_type}/{e.resource_id}": e for e in rows}
