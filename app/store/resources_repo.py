"""Queries over stored resources, their versions and identity keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.orm import Session

from app.store.bulk import (
    Dependents,
    insert_returning_pks,
    insert_rows,
    insert_with_dependents,
)
from app.store.driver import driver_rows
from app.store.models import CodedEvent, IdentityKey, Resource, ResourceVersion, SearchIndex
from app.store.prebuilt import Prebuilt, padded, prepares
from app.store.row_updates import update_rows

IdentityTuple = tuple[str, str, str, str]  # type, system, value, scope

# Every write runs these: built once, executed on the connection (a third of the CPU of
# building a statement and running it through the ORM each time).
_EXISTING_IDS = Prebuilt(
    lambda one_of: select(Resource.id).where(
        Resource.type == bindparam("type"), one_of(Resource.id, "ids")
    )
)
# PostgreSQL: the keys as four arrays joined by unnest (one text whatever the count, prepared
# once), run on the driver: every write runs it, and SQLAlchemy's work around the statement
# cost more CPU than psycopg's. Elsewhere a tuple IN list.
_IDENTITY_OWNERS_PG = (
    "SELECT k.type, k.system, k.value, k.scope, k.resource_pk FROM identity_key k "
    "JOIN unnest(%(t)s::varchar[], %(s)s::varchar[], %(v)s::varchar[], %(sc)s::varchar[]) "
    "AS w(t, s, v, sc) "
    "ON k.type = w.t AND k.system = w.s AND k.value = w.v AND k.scope = w.sc"
)
_IDENTITY_OWNERS = select(
    IdentityKey.type, IdentityKey.system, IdentityKey.value, IdentityKey.scope,
    IdentityKey.resource_pk,
).where(
    tuple_(IdentityKey.type, IdentityKey.system, IdentityKey.value, IdentityKey.scope).in_(
        bindparam("keys", expanding=True)
    )
)  # fmt: skip
# A Patient's existence and its birth date in one round trip (references are checked and
# appointments coded in the same write).
_PATIENT_BIRTHS = Prebuilt(
    lambda one_of: (
        select(Resource.id, SearchIndex.date_lo, SearchIndex.date_hi)
        .outerjoin(
            SearchIndex,
            (SearchIndex.resource_pk == Resource.pk) & (SearchIndex.param == "birthdate"),
        )
        .where(Resource.type == "Patient", one_of(Resource.id, "ids"))
    )
)


def current(session: Session, type_name: str, rid: str) -> Resource | None:
    return session.scalar(select(Resource).where(Resource.type == type_name, Resource.id == rid))


def version(session: Session, type_name: str, rid: str, vid: int) -> ResourceVersion | None:
    return session.get(ResourceVersion, (type_name, rid, vid))


def versions_newest_first(
    session: Session, type_name: str, rid: str, limit: int
) -> Sequence[ResourceVersion]:
    return session.scalars(
        select(ResourceVersion)
        .where(ResourceVersion.type == type_name, ResourceVersion.id == rid)
        .order_by(ResourceVersion.version.desc())
        .limit(limit)
    ).all()


def existing_ids(session: Session, type_name: str, ids: Iterable[str]) -> set[str]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    params = {"type": type_name, "ids": wanted}
    rows = _EXISTING_IDS.rows(session, params)
    return {rid for (rid,) in rows}


def identity_owners(session: Session, keys: Iterable[IdentityTuple]) -> dict[IdentityTuple, int]:
    """Which resource (pk) already owns each identity key."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Padded as a prebuilt lookup's keys are (`prebuilt.padded`: planned once, not on
        # each run); a key listed twice is found twice, and the dict keeps it once.
        keys = padded(wanted) if prepares(connection) else wanted
        t, s, v, sc = (list(column) for column in zip(*keys, strict=True))
        rows: Iterable[Any] = driver_rows(
            connection, _IDENTITY_OWNERS_PG, {"t": t, "s": s, "v": v, "sc": sc}
        )
    else:
        rows = connection.execute(_IDENTITY_OWNERS, {"keys": wanted})
    return {(t, s, v, sc): pk for t, s, v, sc, pk in rows}


def by_pks_for_update(session: Session, pks: Iterable[int]) -> dict[int, Resource]:
    """Current rows, locked until commit (PostgreSQL) so concurrent updates take turns and
    each sees the version the other wrote. SQLite's writer lock already serialises them."""
    wanted = sorted(set(pks))  # a fixed order: two transactions never lock crosswise
    if not wanted:
        return {}
    query = select(Resource).where(Resource.pk.in_(wanted)).order_by(Resource.pk)
    return {r.pk: r for r in session.scalars(query.with_for_update())}


def by_ids_for_update(session: Session, type_name: str, ids: Iterable[str]) -> dict[str, Resource]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = (
        select(Resource)
        .where(Resource.type == type_name, Resource.id.in_(wanted))
        .order_by(Resource.pk)
    )
    return {r.id: r for r in session.scalars(query.with_for_update())}


def patients_by_identifier(session: Session, system: str, values: Iterable[str]) -> dict[str, str]:
    """Patient ids keyed by identifier value within one system."""
    wanted = list(set(values))
    if not wanted:
        return {}
    rows = session.execute(
        select(IdentityKey.value, Resource.id)
        .join(Resource, Resource.pk == IdentityKey.resource_pk)
        .where(
            IdentityKey.type == "Patient",
            IdentityKey.system == system,
            IdentityKey.value.in_(wanted),
            IdentityKey.scope == "",
        )
    )
    return {value: rid for value, rid in rows}


def patient_births(
    session: Session, patient_ids: Iterable[str]
) -> dict[str, tuple[date, date] | None]:
    """Each stored Patient of these ids -> (earliest, latest) possible birth date, or None
    when it has none; an id that is not a stored Patient is absent."""
    wanted = list(set(patient_ids))
    if not wanted:
        return {}
    rows = _PATIENT_BIRTHS.rows(session, {"ids": wanted})
    return {rid: _span(lo, hi) for rid, lo, hi in rows}


def _span(lo: datetime | None, hi: datetime | None) -> tuple[date, date] | None:
    if lo is None or hi is None:
        return None
    return lo.date(), (hi - timedelta(microseconds=1)).date()


def birth_spans(session: Session, patient_ids: Iterable[str]) -> dict[str, tuple[date, date]]:
    """(earliest, latest) possible birth date of each patient that has one (a year alone
    spans the year)."""
    return {rid: span for rid, span in patient_births(session, patient_ids).items() if span}


def insert_resources(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert current rows; their primary keys in the order given."""
    if not rows:
        return []
    return insert_returning_pks(session, Resource.__table__, rows, ("type", "id"))


def insert_new(
    session: Session,
    rows: list[dict[str, Any]],
    history: list[dict[str, Any]],
    index: list[tuple[int, dict[str, Any]]],
    keys: list[tuple[int, dict[str, Any]]],
    events: list[tuple[int, dict[str, Any]]],
) -> list[int]:
    """New resources' current rows with their history rows, search values, identity keys and
    coded events (each of the last three with the index of its resource in `rows`), in one
    statement on PostgreSQL for a few (`bulk.insert_with_dependents`); the resources' primary
    keys in the order given."""
    return insert_with_dependents(
        session,
        Resource.__table__,
        rows,
        ("type", "id"),
        [
            # History rows name their resource by type and id: no parent index is read.
            Dependents(ResourceVersion.__table__, [(0, row) for row in history]),
            Dependents(SearchIndex.__table__, index, "resource_pk"),
            Dependents(IdentityKey.__table__, keys, "resource_pk"),
            Dependents(CodedEvent.__table__, events, "resource_pk"),
        ],
    )


def update_resources(session: Session, rows: list[dict[str, Any]]) -> None:
    """New current versions: each row has `pk` and the same columns to set."""
    update_rows(session, Resource.__table__, rows)


def insert_versions(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        insert_rows(session, ResourceVersion.__table__, rows)


def replace_values(
    session: Session,
    reindexed: list[int],
    index_rows: list[dict[str, Any]],
    rekeyed: list[int],
    key_rows: list[dict[str, Any]],
) -> None:
    """Drop the search values of the `reindexed` resources and the identity keys of the
    `rekeyed`, then add the rows given (a resource in neither keeps what it has)."""
    if reindexed:
        session.execute(delete(SearchIndex).where(SearchIndex.resource_pk.in_(reindexed)))
    if rekeyed:
        session.execute(delete(IdentityKey).where(IdentityKey.resource_pk.in_(rekeyed)))
    if index_rows:
        insert_rows(session, SearchIndex.__table__, index_rows)
    if key_rows:
        insert_rows(session, IdentityKey.__table__, key_rows)
