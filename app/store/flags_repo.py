"""Queries over the flags this service raised and their reviews."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.store.bulk import insert_rows
from app.store.models import FlagReview, RaisedFlag, Resource
from app.store.prebuilt import Prebuilt
from app.store.row_updates import update_rows


class StoredFlag(NamedTuple):
    """A FHIR Flag as stored now: its resource row and current content (the JSON its search
    values and identity keys were drawn from, so a next version can tell whether they change
    without reading them)."""

    pk: int
    version: int
    content: str | None  # None: not known, so the next version writes its search values


_FLAGS_OF_CHILDREN = Prebuilt(
    lambda one_of: (
        select(
            RaisedFlag.__table__,
            Resource.pk.label("flag_pk"),
            Resource.version.label("flag_version"),
            Resource.content.label("flag_content"),
        )
        .outerjoin(Resource, (Resource.type == "Flag") & (Resource.id == RaisedFlag.flag_id))
        .where(one_of(RaisedFlag.child_id, "ids"))
        .order_by(RaisedFlag.pk)
        .with_for_update(of=RaisedFlag.__table__)
    )
)


def flags_of_children(
    session: Session, child_ids: Iterable[str]
) -> tuple[Sequence[Any], dict[str, StoredFlag]]:
    """Every flag (open and closed) of these children, locked until commit, as plain rows of
    `raised_flag`'s columns (no ORM entities: reconciliation reads them on every write), and
    the stored FHIR Flag of each (flag id -> its row and content), read in the same round trip
    so that writing a Flag's next version needs no lookup of its own."""
    wanted = sorted(set(child_ids))
    if not wanted:
        return [], {}
    rows = _FLAGS_OF_CHILDREN.rows(session, {"ids": wanted})
    stored = {
        r.flag_id: StoredFlag(r.flag_pk, r.flag_version, r.flag_content)
        for r in rows
        if r.flag_pk is not None
    }
    return rows, stored


def pks_of(session: Session, flag_ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(flag_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(RaisedFlag.flag_id, RaisedFlag.pk).where(RaisedFlag.flag_id.in_(wanted))
    )
    return {f: pk for f, pk in rows}


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


def add_reviews(session: Session, rows: list[dict[str, Any]]) -> None:
    """Many reviews in one statement; their primary keys follow the order given, which is
    the order reviews of one moment (`at`) are read back in."""
    insert_rows(session, FlagReview.__table__, rows)


def reviews_of(session: Session, flag_pks: list[int]) -> Sequence[FlagReview]:
    if not flag_pks:
        return []
    return session.scalars(
        select(FlagReview)
        .where(FlagReview.flag_pk.in_(flag_pks))
        .order_by(FlagReview.at, FlagReview.pk)
    ).all()


def open_concern_of(session: Session, child_id: str) -> RaisedFlag | None:
    """The child's open concern, if any (not locked: a check before a change that the
    unique index guards anyway)."""
    return session.scalars(
        select(RaisedFlag).where(RaisedFlag.is_open, RaisedFlag.child_id == child_id)
    ).first()
