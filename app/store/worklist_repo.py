"""Queries behind the nurse's worklist: raised flags filtered, sorted, paged and counted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, UnaryExpression, case, func, or_, select
from sqlalchemy.orm import Session

from app.store.case_models import CaseOwner
from app.store.models import RaisedFlag, Resource

_Row = TypeVarTuple("_Row")  # the columns a query selects, kept through its filters
PRIORITY_RANK = case({"high": 0, "medium": 1, "low": 2}, value=RaisedFlag.priority, else_=3)
SORTS: dict[str, tuple[UnaryExpression[Any], ...]] = {
    "-priority": (PRIORITY_RANK.asc(), RaisedFlag.opened_at.asc(), RaisedFlag.pk.asc()),
    "priority": (PRIORITY_RANK.desc(), RaisedFlag.opened_at.asc(), RaisedFlag.pk.asc()),
    "opened": (RaisedFlag.opened_at.asc(), RaisedFlag.pk.asc()),
    "-opened": (RaisedFlag.opened_at.desc(), RaisedFlag.pk.desc()),
    "last_event": (RaisedFlag.last_event_at.asc(), RaisedFlag.pk.asc()),
    "-last_event": (RaisedFlag.last_event_at.desc(), RaisedFlag.pk.desc()),
}


@dataclass(frozen=True)
class WorklistFilter:
    """Which flags: every bound is optional; `born_*` compare with the child's birth date."""

    states: tuple[str, ...]
    rules: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    organisation: str | None = None
    opened_from: datetime | None = None  # inclusive
    opened_before: datetime | None = None  # exclusive
    born_from: datetime | None = None  # inclusive
    born_before: datetime | None = None  # exclusive
    owner: str | None = None  # the case owner's username
    unassigned: bool = False  # only children whose case nobody owns

    @property
    def by_age(self) -> bool:
        return self.born_from is not None or self.born_before is not None


def _where(query: Select[*_Row], f: WorklistFilter) -> Select[*_Row]:
    query = query.where(RaisedFlag.state.in_(f.states))
    if f.rules:
        # A concern matches when any of its reasons is one of the rules asked for.
        query = query.where(or_(*(RaisedFlag.reason_rules.like(f"% {r} %") for r in f.rules)))
    if f.priorities:
        query = query.where(RaisedFlag.priority.in_(f.priorities))
    if f.organisation is not None:
        query = query.where(RaisedFlag.organisation == f.organisation)
    if f.opened_from is not None:
        query = query.where(RaisedFlag.opened_at >= f.opened_from)
    if f.opened_before is not None:
        query = query.where(RaisedFlag.opened_at < f.opened_before)
    if f.unassigned:
        owned = select(CaseOwner.child_id).where(CaseOwner.child_id == RaisedFlag.child_id)
        query = query.where(~owned.exists())
    elif f.owner is not None:
        query = query.join(CaseOwner, CaseOwner.child_id == RaisedFlag.child_id).where(
            CaseOwner.owner == f.owner
        )
    if f.by_age:
        # A child whose birth date is unknown has no age, so never falls in an age band.
        query = query.join(
            Resource, (Resource.type == "Patient") & (Resource.id == RaisedFlag.child_id)
        ).where(Resource.sort_date.is_not(None))
        if f.born_from is not None:
            query = query.where(Resource.sort_date >= f.born_from)
        if f.born_before is not None:
            query = query.where(Resource.sort_date < f.born_before)
    return query


def worklist_page(
    session: Session, f: WorklistFilter, sort: str, limit: int, offset: int
) -> Sequence[RaisedFlag]:
    """One page of the flags matching `f`, in the order `sort` names (a key of SORTS)."""
    query = _where(select(RaisedFlag), f)
    return session.scalars(query.order_by(*SORTS[sort]).limit(limit).offset(offset)).all()


def worklist_counts(session: Session, f: WorklistFilter) -> list[tuple[str, str, int]]:
    """(priority, the reasons' rule ids, how many) over every concern matching `f`, not just
    one page."""
    query = _where(select(RaisedFlag.priority, RaisedFlag.reason_rules, func.count()), f).group_by(
        RaisedFlag.priority, RaisedFlag.reason_rules
    )
    return [(str(p), str(r), int(n)) for p, r, n in session.execute(query)]


def patients(session: Session, ids: Iterable[str]) -> dict[str, Resource]:
    """The current Patient resource of each id that has one."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Resource).where(Resource.type == "Patient", Resource.id.in_(wanted))
    )
    return {r.id: r for r in rows}
