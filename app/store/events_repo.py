"""Queries over coded events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.store.models import CodedEvent, FamilyMember


def replace_events(session: Session, resource_pks: list[int], rows: list[dict[str, Any]]) -> None:
    """The coded events of these resources become `rows` (an update recodes its event)."""
    if resource_pks:
        session.execute(delete(CodedEvent).where(CodedEvent.resource_pk.in_(resource_pks)))
    if rows:
        session.execute(insert(CodedEvent), rows)


def events_of_child(
    session: Session, child_id: str, since: datetime | None = None
) -> Sequence[CodedEvent]:
    query = select(CodedEvent).where(CodedEvent.child_id == child_id)
    if since is not None:
        query = query.where(CodedEvent.event_at >= since)
    return session.scalars(query.order_by(CodedEvent.event_at, CodedEvent.pk)).all()


def event_of_resource(session: Session, resource_type: str, rid: str) -> CodedEvent | None:
    return session.scalar(
        select(CodedEvent).where(
            CodedEvent.resource_type == resource_type, CodedEvent.resource_id == rid
        )
    )


def with_family(session: Session, resource_pks: list[int]) -> Sequence[CodedEvent]:
    """The events of these resources, each stamped with its child's current family."""
    family = (
        select(FamilyMember.family_id)
        .where(FamilyMember.patient_id == CodedEvent.child_id)
        .scalar_subquery()
    )
    session.execute(
        update(CodedEvent).where(CodedEvent.resource_pk.in_(resource_pks)).values(family_id=family)
    )
    return session.scalars(
        select(CodedEvent)
        .where(CodedEvent.resource_pk.in_(resource_pks))
        .order_by(CodedEvent.event_at, CodedEvent.pk)
    ).all()
