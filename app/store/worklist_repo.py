"""Queries behind the nurse's worklist: concerns filtered, grouped by family (a child with no
family is a family of one), sorted, paged by family and counted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    UnaryExpression,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.fhir.concern_state import ConcernState
from app.store.case_models import CaseOwner
from app.store.models import FamilyMember, RaisedFlag, Resource, SafeguardingStatus
from app.store.webhook_models import FlagArea

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
    organisation: str | None = None  # the organisation of the concern's latest evidence
    area: str | None = None  # any area the concern is in, as agencies are matched
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
    if f.area is not None:
        query = query.where(
            exists().where(FlagArea.flag_id == RaisedFlag.flag_id, FlagArea.area == f.area)
        )
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


# The family a concern's child is in now (families merge and split as carers arrive); a
# child with no family row is a family of one, keyed by the child's own id.
FAMILY = func.coalesce(FamilyMember.family_id, RaisedFlag.child_id)
_UNREVIEWED_SINCE = case(
    (RaisedFlag.state == ConcernState.OPEN, RaisedFlag.opened_at),
    (RaisedFlag.state == ConcernState.EVIDENCE_CHANGED, RaisedFlag.updated_at),
    else_=None,
)


@dataclass(frozen=True)
class FamilyRow:
    """One worklist row: a family with at least one concern matching the filter."""

    family_id: str
    top_rank: int  # PRIORITY_RANK of its highest matching concern
    has_status: bool  # a child of the family is on a plan, looked after or in need now
    has_infant: bool  # a child of the family is under one year old today
    waiting_since: datetime | None  # its longest-waiting unreviewed concern, if any


def _families(f: WorklistFilter) -> Subquery:
    matching = _where(
        select(
            FAMILY.label("family"),
            PRIORITY_RANK.label("rank"),
            _UNREVIEWED_SINCE.label("waiting"),
            RaisedFlag.opened_at,
            RaisedFlag.last_event_at,
        ).outerjoin(FamilyMember, FamilyMember.patient_id == RaisedFlag.child_id),
        f,
    ).subquery()
    c = matching.c
    return (
        select(
            c.family,
            func.min(c.rank).label("top"),
            func.min(c.waiting).label("waiting"),
            func.min(c.opened_at).label("first_opened"),
            func.max(c.opened_at).label("last_opened"),
            func.min(c.last_event_at).label("first_event"),
            func.max(c.last_event_at).label("last_event"),
        )
        .group_by(c.family)
        .subquery()
    )


def _holds_now(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """A status period holding at `now` (an open start or end holds)."""
    return (
        or_(SafeguardingStatus.start.is_(None), SafeguardingStatus.start <= now),
        or_(SafeguardingStatus.end.is_(None), SafeguardingStatus.end > now),
    )


def _families_having(
    table: Any, person: InstrumentedAttribute[str], *where: ColumnElement[bool]
) -> Subquery:
    """Each family (a patient with no family is one) with a member `person` (the patient id
    column of `table`) whose row matches `where`: one row each."""
    family = func.coalesce(FamilyMember.family_id, person)
    return (
        select(family.label("family"))
        .select_from(table)
        .outerjoin(FamilyMember, FamilyMember.patient_id == person)
        .where(*where)
        .distinct()
        .subquery()
    )


def family_page(
    session: Session,
    f: WorklistFilter,
    sort: str,
    limit: int,
    offset: int,
    now: datetime,
    infant_born_after: datetime,
) -> tuple[list[FamilyRow], int]:
    """One page of families with a concern matching `f`, and how many there are in all.
    `-priority`: the highest priority first; within it families with a child on a plan,
    looked after or in need, then with an infant, then the longest waiting for a first look
    (families with nothing unreviewed after them). The time sorts order families by their
    concerns' earliest (ascending) or latest (descending) time."""
    g = _families(f)
    # Joined as sets, not EXISTS per family: a correlated EXISTS ran once per family of the
    # whole worklist before the page could be cut (seconds at 10,000 families).
    held = _families_having(SafeguardingStatus, SafeguardingStatus.child_id, *_holds_now(now))
    babies = _families_having(
        Resource, Resource.id, Resource.type == "Patient", Resource.sort_date > infant_born_after
    )
    status, infant = held.c.family.is_not(None), babies.c.family.is_not(None)
    first = (case((status, 0), else_=1), case((infant, 0), else_=1))
    waiting = (case((g.c.waiting.is_(None), 1), else_=0), g.c.waiting.asc())
    orders: dict[str, tuple[Any, ...]] = {
        "-priority": (g.c.top.asc(), *first, *waiting, g.c.first_opened.asc()),
        "priority": (g.c.top.desc(), *first, *waiting, g.c.first_opened.asc()),
        "opened": (g.c.first_opened.asc(),),
        "-opened": (g.c.last_opened.desc(),),
        "last_event": (g.c.first_event.asc(),),
        "-last_event": (g.c.last_event.desc(),),
    }
    query = (
        # The count of every family rides on the page's rows: one grouping, not two.
        select(g.c.family, g.c.top, status, infant, g.c.waiting, func.count().over())
        .outerjoin(held, held.c.family == g.c.family)
        .outerjoin(babies, babies.c.family == g.c.family)
        .order_by(*orders[sort], g.c.family.asc())
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(query).all()
    if not rows:  # a page past the end: the count alone
        return [], family_count(session, f) if offset else 0
    page = [
        FamilyRow(str(fam), int(top), bool(st), bool(inf), w) for fam, top, st, inf, w, _ in rows
    ]
    return page, int(rows[0][5])


def family_count(session: Session, f: WorklistFilter) -> int:
    """How many families have a concern matching `f`."""
    return int(session.scalar(select(func.count()).select_from(_families(f))) or 0)


def concerns_of_families(
    session: Session, f: WorklistFilter, family_ids: Sequence[str], sort: str
) -> list[tuple[str, RaisedFlag]]:
    """(family, concern) for each concern matching `f` in those families, in `sort` order."""
    if not family_ids:
        return []
    query = _where(
        select(FAMILY, RaisedFlag).outerjoin(
            FamilyMember, FamilyMember.patient_id == RaisedFlag.child_id
        ),
        f,
    ).where(FAMILY.in_(sorted(set(family_ids))))
    return [(str(fam), row) for fam, row in session.execute(query.order_by(*SORTS[sort]))]


def statuses_of_families(
    session: Session, family_ids: Sequence[str], now: datetime
) -> dict[str, list[tuple[str, str]]]:
    """(child, status) of every status holding now for a child of each family."""
    if not family_ids:
        return {}
    fam = func.coalesce(FamilyMember.family_id, SafeguardingStatus.child_id)
    query = (
        select(fam, SafeguardingStatus.child_id, SafeguardingStatus.status)
        .outerjoin(FamilyMember, FamilyMember.patient_id == SafeguardingStatus.child_id)
        .where(
            fam.in_(sorted(set(family_ids))),
            *_holds_now(now),
        )
        .distinct()
    )
    out: dict[str, list[tuple[str, str]]] = {}
    for family, child, status in session.execute(query):
        out.setdefault(str(family), []).append((str(child), str(status)))
    return {k: sorted(v) for k, v in out.items()}


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
