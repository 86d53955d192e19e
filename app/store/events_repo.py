"""Queries over coded events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.orm import Session

from app.store.bulk import insert_rows
from app.store.models import CodedEvent
from app.store.row_updates import update_rows


def events_of_resources(session: Session, resource_pks: list[int]) -> Sequence[CodedEvent]:
    """The stored coded events of these resources (several per resource: one per Patient)."""
    if not resource_pks:
        return []
    return session.scalars(
        select(CodedEvent).where(CodedEvent.resource_pk.in_(resource_pks)).order_by(CodedEvent.pk)
    ).all()


def service_keys(session: Session, refs: set[str]) -> dict[str, str]:
    """The service key of each stored appointment ("Appointment/id") that has one."""
    ids = [r.partition("/")[2] for r in refs if r.startswith("Appointment/")]
    if not ids:
        return {}
    rows = session.execute(
        select(CodedEvent.resource_id, CodedEvent.service_key).where(
            CodedEvent.resource_type == "Appointment",
            CodedEvent.resource_id.in_(ids),
            CodedEvent.service_key.is_not(None),
        )
    )
    # The query leaves out rows without a key; the test says so to the type checker too.
    return {f"Appointment/{rid}": key for rid, key in rows if key is not None}


def remove_events(session: Session, resource_pks: list[int]) -> set[str]:
    """Delete the coded events of these resources (an update recodes its events); the
    children whose events were removed (their families' flags must be judged again)."""
    if not resource_pks:
        return set()
    removed = session.execute(
        delete(CodedEvent)
        .where(CodedEvent.resource_pk.in_(resource_pks))
        .returning(CodedEvent.child_id)
    )
    return {child for (child,) in removed}


def add_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """No primary keys come back, so the rows go in the cheapest way (VALUES, unnest or
    COPY; executemany on SQLite)."""
    insert_rows(session, CodedEvent.__table__, rows)


# (pk, child_id, event_at, category, is_child, age_days, age_uncertain_days)
PatientEventRow = Row[int, str, datetime, str, bool, int | None, int]


def events_of_patients(session: Session, patient_ids: Iterable[str]) -> Sequence[PatientEventRow]:
    """(pk, child_id, event_at, category, is_child, age_days, age_uncertain_days) of every
    event of these patients, children and adults alike (for coding them again)."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return []
    return session.execute(
        select(
            CodedEvent.pk,
            CodedEvent.child_id,
            CodedEvent.event_at,
            CodedEvent.category,
            CodedEvent.is_child,
            CodedEvent.age_days,
            CodedEvent.age_uncertain_days,
        ).where(CodedEvent.child_id.in_(wanted))
    ).all()


def misses_before(
    session: Session, cutoffs: dict[str, datetime], categories: Iterable[str], skip: list[int]
) -> list[tuple[str, str, str]]:
    """(child id, resource type, resource id) of each stored event in `categories` of a child
    in `cutoffs` dated before that child's cutoff, leaving out the resources `skip`."""
    if not cutoffs:
        return []
    query = select(
        CodedEvent.child_id, CodedEvent.resource_type, CodedEvent.resource_id, CodedEvent.event_at
    ).where(
        CodedEvent.child_id.in_(list(cutoffs)),
        CodedEvent.category.in_(list(categories)),
        CodedEvent.event_at < max(cutoffs.values()),
    )
    if skip:
        query = query.where(CodedEvent.resource_pk.not_in(skip))
    rows = session.execute(query.order_by(CodedEvent.event_at, CodedEvent.pk)).all()
    return [(c, t, i) for c, t, i, at in rows if at < cutoffs[c]]


def update_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Each row: `pk` and the same columns to set."""
    update_rows(session, CodedEvent.__table__, rows)
