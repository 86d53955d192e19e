"""Queries over case ownership: who owns which child's case, and what each owner holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.fhir.concern_state import OPEN_STATES
from app.store.case_models import CaseOwner
from app.store.models import RaisedFlag


def owners_of(session: Session, child_ids: Iterable[str]) -> dict[str, CaseOwner]:
    wanted = sorted(set(child_ids))
    if not wanted:
        return {}
    rows = session.scalars(select(CaseOwner).where(CaseOwner.child_id.in_(wanted)))
    return {r.child_id: r for r in rows}


def set_owner(
    session: Session,
    child_ids: Sequence[str],
    owner: str,
    next_review: date | None,
    by: str,
    now: datetime,
) -> None:
    """Make `owner` the owner of each child's case (replacing any other owner)."""
    existing = owners_of(session, child_ids)
    for child_id in child_ids:
        row = existing.get(child_id) or CaseOwner(child_id=child_id)
        row.owner, row.next_review, row.assigned_by, row.assigned_at = owner, next_review, by, now
        session.add(row)


def move_owners(session: Session, moves: dict[str, str]) -> None:
    """Give each case's owner row (owner, next review, who assigned it and when) to another
    child: merged record -> surviving record."""
    for source, target in sorted(moves.items()):
        session.execute(
            update(CaseOwner).where(CaseOwner.child_id == source).values(child_id=target)
        )


def clear_owner(session: Session, child_ids: Sequence[str]) -> None:
    if child_ids:
        session.execute(delete(CaseOwner).where(CaseOwner.child_id.in_(list(child_ids))))


def owned_by(session: Session, owner: str) -> Sequence[CaseOwner]:
    return session.scalars(
        select(CaseOwner).where(CaseOwner.owner == owner).order_by(CaseOwner.child_id)
    ).all()


def open_flags_of(session: Session, child_ids: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """(priority, how many) of the flags still open, per child."""
    wanted = sorted(set(child_ids))
    out: dict[str, list[tuple[str, int]]] = {c: [] for c in wanted}
    if wanted:
        rows = session.execute(
            select(RaisedFlag.child_id, RaisedFlag.priority, func.count())
            .where(RaisedFlag.child_id.in_(wanted), RaisedFlag.state.in_(OPEN_STATES))
            .group_by(RaisedFlag.child_id, RaisedFlag.priority)
        )
        for child_id, priority, n in rows:
            out[child_id].append((str(priority), int(n)))
    return out
