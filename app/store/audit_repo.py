"""Audit records: insert only, and search."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, exists, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.store.bulk import insert_rows
from app.store.models import AuditEntity, AuditRecord

_INSERT_RECORD = insert(AuditRecord.__table__).returning(AuditRecord.__table__.c.pk)


def _insert_with_entities(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the audit row and its entities in one statement (the entities from an
    array, none when it is empty; the row is inserted either way). Built once per set of
    columns given."""
    statement = _WITH_ENTITIES.get(columns)
    if statement is None:
        table = AuditRecord.__table__
        added = insert(table).values({c: bindparam(c) for c in columns}).returning(table.c.pk)
        row = added.cte("added")
        references = func.unnest(bindparam("entity_references", type_=ARRAY(String(120))))
        statement = _WITH_ENTITIES[columns] = insert(AuditEntity.__table__).from_select(
            # A set-returning call in the select list: one entity row per reference.
            ["audit_pk", "reference"],
            select(row.c.pk, references),
        )
    return statement


_WITH_ENTITIES: dict[tuple[str, ...], Any] = {}


def append(session: Session, record: dict[str, Any], references: list[str]) -> None:
    """Insert one audit row; the sealer links it into the hash chain once it has committed
    (see audit_chain), so writers never wait on each other here."""
    unique = sorted({r[:120] for r in references})
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One round trip: every request is audited, reads included.
        statement = _insert_with_entities(tuple(record))
        connection.execute(statement, {**record, "entity_references": unique})
        return
    pk = connection.execute(_INSERT_RECORD, record).scalar_one()
    if unique:
        insert_rows(
            session, AuditEntity.__table__, [{"audit_pk": pk, "reference": r} for r in unique]
        )


def search(
    session: Session,
    *,
    entities: list[str],
    agent: str | None,
    subtype: str | None,
    type_code: str | None,
    since: datetime | None,
    before: datetime | None,
    limit: int,
    offset: int,
) -> Sequence[AuditRecord]:
    query = select(AuditRecord)
    for ref in entities:
        query = query.where(
            exists().where(AuditEntity.audit_pk == AuditRecord.pk, AuditEntity.reference == ref)
        )
    if agent:
        query = query.where(AuditRecord.agent_id == agent)
    if subtype:
        query = query.where(AuditRecord.subtype == subtype)
    if type_code:
        query = query.where(AuditRecord.type_code == type_code)
    if since:
        query = query.where(AuditRecord.recorded >= since)
    if before:
        query = query.where(AuditRecord.recorded < before)
    query = query.order_by(AuditRecord.recorded.desc(), AuditRecord.pk.desc())
    return session.scalars(query.offset(offset).limit(limit)).all()


def entities_of(session: Session, pks: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {pk: [] for pk in pks}
    if pks:
        rows = session.execute(
            select(AuditEntity.audit_pk, AuditEntity.reference).where(AuditEntity.audit_pk.in_(pks))
        )
        for pk, ref in rows:
            out[pk].append(ref)
    return out
