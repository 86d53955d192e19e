"""Audit records: insert only, and search."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.store.bulk import Dependents, insert_with_dependents
from app.store.models import AuditEntity, AuditRecord


def append(session: Session, record: dict[str, Any], references: list[str]) -> None:
    """Insert one audit row; the sealer links it into the hash chain once it has committed
    (see audit_chain), so writers never wait on each other here."""
    append_all(session, [(record, references)])


def append_all(session: Session, records: list[tuple[dict[str, Any], list[str]]]) -> None:
    """Insert audit rows (each with the references it names) in the order given: on
    PostgreSQL one statement for a few and their entities (`insert_with_dependents`), as
    every request is audited, reads included, and a group commit audits each of its writes."""
    entities = [
        (i, {"reference": reference})
        for i, (_, references) in enumerate(records)
        for reference in sorted({r[:120] for r in references})
    ]
    insert_with_dependents(
        session,
        AuditRecord.__table__,
        [record for record, _ in records],
        ("id",),
        [Dependents(AuditEntity.__table__, entities, "audit_pk")],
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
