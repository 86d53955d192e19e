"""Queries behind a child's or a family's chronology: everything known about a set of
patients, each through an index that starts with the patient."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.store.models import (
    CodedEvent,
    Family,
    RaisedFlag,
    Resource,
    ResourceVersion,
    SafeguardingStatus,
)


def events_of(session: Session, patient_ids: Iterable[str]) -> Sequence[CodedEvent]:
    """Every coded event of these patients, oldest first."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return []
    return session.scalars(
        select(CodedEvent)
        .where(CodedEvent.child_id.in_(wanted))
        .order_by(CodedEvent.event_at, CodedEvent.pk)
    ).all()


def events_by_refs(session: Session, refs: Iterable[str]) -> Sequence[CodedEvent]:
    """The coded events behind "Type/id" references, oldest first."""
    pairs = sorted({(t, i) for t, _, i in (r.partition("/") for r in refs) if t and i})
    if not pairs:
        return []
    return session.scalars(
        select(CodedEvent)
        .where(tuple_(CodedEvent.resource_type, CodedEvent.resource_id).in_(pairs))
        .order_by(CodedEvent.event_at, CodedEvent.pk)
    ).all()


def statuses_with_resources(
    session: Session, child_ids: Iterable[str]
) -> list[tuple[SafeguardingStatus, str, datetime]]:
    """Each safeguarding status of these children with the "Type/id" of the resource that
    carried it and when that resource was last updated, in the order they were stored."""
    wanted = sorted(set(child_ids))
    if not wanted:
        return []
    rows = session.execute(
        select(SafeguardingStatus, Resource.type, Resource.id, Resource.last_updated)
        .join(Resource, Resource.pk == SafeguardingStatus.resource_pk)
        .where(SafeguardingStatus.child_id.in_(wanted))
        .order_by(SafeguardingStatus.resource_pk)
    )
    return [(s, f"{t}/{i}", at) for s, t, i, at in rows]


def flags_of(session: Session, child_ids: Iterable[str]) -> Sequence[RaisedFlag]:
    """Every flag raised for these children, open or closed, oldest first."""
    wanted = sorted(set(child_ids))
    if not wanted:
        return []
    return session.scalars(
        select(RaisedFlag)
        .where(RaisedFlag.child_id.in_(wanted))
        .order_by(RaisedFlag.opened_at, RaisedFlag.pk)
    ).all()


def related_persons_of(session: Session, child_ids: Iterable[str]) -> Sequence[Resource]:
    """The current RelatedPerson resources (carers) of these children."""
    wanted = sorted(set(child_ids))
    if not wanted:
        return []
    return session.scalars(
        select(Resource)
        .where(Resource.type == "RelatedPerson", Resource.patient_id.in_(wanted))
        .order_by(Resource.pk)
    ).all()


def family_exists(session: Session, family_id: str) -> bool:
    return session.get(Family, family_id) is not None


def versions_of(session: Session, type_name: str, ids: Iterable[str]) -> Sequence[ResourceVersion]:
    """Every stored version of these resources of one type, each one's in version order."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return session.scalars(
        select(ResourceVersion)
        .where(ResourceVersion.type == type_name, ResourceVersion.id.in_(wanted))
        .order_by(ResourceVersion.id, ResourceVersion.version)
    ).all()


def version_stamps(
    session: Session, type_name: str, ids: Iterable[str]
) -> list[tuple[str, int, datetime]]:
    """(id, version, written at) of every stored version of these resources, without their
    content: a concern has a version per change, and a chronology reads two or three."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = session.execute(
        select(ResourceVersion.id, ResourceVersion.version, ResourceVersion.last_updated)
        .where(ResourceVersion.type == type_name, ResourceVersion.id.in_(wanted))
        .order_by(ResourceVersion.id, ResourceVersion.version)
    )
    return [(str(i), int(v), at) for i, v, at in rows]


def versions_by_key(
    session: Session, type_name: str, keys: Iterable[tuple[str, int]]
) -> Sequence[ResourceVersion]:
    """These (id, version) versions of one type, each resource's in version order."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    return session.scalars(
        select(ResourceVersion)
        .where(
            ResourceVersion.type == type_name,
            tuple_(ResourceVersion.id, ResourceVersion.version).in_(wanted),
        )
        .order_by(ResourceVersion.id, ResourceVersion.version)
    ).all()
