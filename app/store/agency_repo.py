"""Queries deciding what an agency may see: its binding and the flags that concern it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, CompoundSelect, Select, exists, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.store.models import CodedEvent, RaisedFlag, Resource
from app.store.webhook_models import AgencyBinding, FlagArea


def binding(session: Session, client_id: str) -> AgencyBinding | None:
    return session.get(AgencyBinding, client_id)


def add_binding(session: Session, row: AgencyBinding) -> None:
    session.add(row)
    session.flush()


def _concerning(agency_type: str, areas: Sequence[str]) -> ColumnElement[bool]:
    # `agencies` is space-separated; padding both ends makes a whole-word match.
    names_type = (literal(" ") + RaisedFlag.agencies + literal(" ")).like(f"% {agency_type} %")
    in_area = exists().where(FlagArea.flag_id == RaisedFlag.flag_id, FlagArea.area.in_(areas))
    return names_type & in_area


def concerning_flag_ids(session: Session, agency_type: str, areas: Sequence[str]) -> list[str]:
    """Ids of every raised flag (open or not) whose rule names the agency type, in its areas."""
    if not areas:
        return []
    query = select(RaisedFlag.flag_id).where(_concerning(agency_type, areas))
    return list(session.scalars(query.order_by(RaisedFlag.flag_id)))


def flag_concerns(session: Session, flag_id: str, agency_type: str, areas: Sequence[str]) -> bool:
    if not areas:
        return False
    query = select(RaisedFlag.pk).where(
        RaisedFlag.flag_id == flag_id, _concerning(agency_type, areas)
    )
    return session.scalar(query.limit(1)) is not None


def child_concerns(session: Session, child_id: str, agency_type: str, areas: Sequence[str]) -> bool:
    """Whether the patient is the subject of a flag that concerns the agency."""
    if not areas:
        return False
    query = select(RaisedFlag.pk).where(
        RaisedFlag.child_id == child_id, _concerning(agency_type, areas)
    )
    return session.scalar(query.limit(1)) is not None


def flags_by_id(session: Session, flag_ids: Iterable[str]) -> Sequence[RaisedFlag]:
    wanted = sorted(set(flag_ids))
    if not wanted:
        return []
    return session.scalars(select(RaisedFlag).where(RaisedFlag.flag_id.in_(wanted))).all()


def area_sources(
    session: Session, patient_ids: Iterable[str], references: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """In one round trip: the stored JSON of each Patient (its GP, managing organisation) and
    the booking organisation of each coded event named "Type/id" that has one."""
    patients = sorted(set(patient_ids))
    pairs = {tuple(r.split("/", 1)) for r in references if "/" in r}
    ids = sorted({rid for _, rid in pairs})
    query: Select[str, str, str] | CompoundSelect[str, str, str]
    query = select(literal("p"), Resource.id, Resource.content).where(
        Resource.type == "Patient", Resource.id.in_(patients or [""])
    )
    if ids:
        query = query.union_all(
            select(
                CodedEvent.resource_type,
                CodedEvent.resource_id,
                CodedEvent.organisation,
            ).where(CodedEvent.resource_id.in_(ids), CodedEvent.organisation.is_not(None))
        )
    found_patients: dict[str, str] = {}
    organisations: dict[str, str] = {}
    for kind, key, value in session.execute(query):
        if kind == "p":
            found_patients[key] = value
        elif (kind, key) in pairs and value:
            organisations[f"{kind}/{key}"] = value
    return found_patients, organisations


def remember_flag_areas(session: Session, pairs: set[tuple[str, str]]) -> None:
    """Record the areas each flag concerns, in one statement (pairs already known are left
    alone). Added to, never taken away: once told, an agency may still read what it was told
    about."""
    if not pairs:
        return
    rows = [{"flag_id": f, "area": a} for f, a in sorted(pairs)]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(FlagArea).on_conflict_do_nothing(), rows)
