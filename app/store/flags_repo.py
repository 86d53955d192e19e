"""Queries over the flags this service raised and their reviews."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from app.store.bulk import insert_rows, update_rows
from app.store.models import FlagReview, RaisedFlag


def open_flags(
    session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], RaisedFlag]:
    """The open flag for each (rule id, child id), locked until commit."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    rows = session.scalars(
        select(RaisedFlag)
        .where(RaisedFlag.is_open, tuple_(RaisedFlag.rule_id, RaisedFlag.child_id).in_(wanted))
        .order_by(RaisedFlag.pk)
        .with_for_update()
    )
    return {(r.rule_id, r.child_id): r for r in rows}


def add_many(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, RaisedFlag.__table__, rows)


def change_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Each row: `pk` and the same columns to set."""
    update_rows(session, RaisedFlag.__table__, rows)


def change(session: Session, pk: int, values: dict[str, Any]) -> None:
    session.execute(update(RaisedFlag).where(RaisedFlag.pk == pk).values(**values))


def by_flag_id(session: Session, flag_id: str, lock: bool = False) -> RaisedFlag | None:
    query = select(RaisedFlag).where(RaisedFlag.flag_id == flag_id)
    return session.scalar(query.with_for_update() if lock else query)


def add_review(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(FlagReview), [row])


def reviews_of(session: Session, flag_pks: list[int]) -> Sequence[FlagReview]:
    if not flag_pks:
        return []
    return session.scalars(
        select(FlagReview)
        .where(FlagReview.flag_pk.in_(flag_pks))
        .order_by(FlagReview.at, FlagReview.pk)
    ).all()
