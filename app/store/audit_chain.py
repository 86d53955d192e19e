"""The audit trail as a hash chain. Each AuditEvent row carries `seq` (1, 2, 3, ... with no
gaps) and `chain_hash` = SHA-256 of the previous row's chain_hash, its own seq and its content
(every column and the records it names). Changing a row breaks its hash; removing one leaves
a gap in seq; swapping two breaks both. Rows are linked one writer at a time (PostgreSQL: a
transaction-scoped advisory lock; SQLite: its single writer), so the chain never forks.

What a chain cannot show by itself is the loss of its newest rows: `wnb audit verify` prints
the head (seq and hash) so that it can be noted somewhere the database's owner cannot reach."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.store.models import AuditEntity, AuditRecord

GENESIS = "0" * 64
LOCK_KEY = 0x77_6E_62_61_75_64  # "wnbaud": any fixed number no other lock uses
CONTENT = (
    "id", "recorded", "type_code", "subtype", "action", "outcome", "outcome_desc",
    "agent_kind", "agent_id", "agent_name", "agent_role", "resource_type", "query",
)  # fmt: skip
BATCH = 1000


def link(previous: str, seq: int, record: dict[str, Any], references: list[str]) -> str:
    """The chain hash of a row: pure, so `verify` recomputes exactly what `append` wrote."""
    content = {k: _plain(record.get(k)) for k in CONTENT}
    body = orjson.dumps([previous, seq, content, sorted(references)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def next_link(session: Session) -> tuple[int, str]:
    """(seq, previous hash) for the row about to be written; holds the chain until commit."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    head = session.execute(
        select(AuditRecord.seq, AuditRecord.chain_hash)
        .where(AuditRecord.seq.is_not(None))
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    ).first()
    return (1, GENESIS) if head is None else (head[0] + 1, head[1])


@dataclass(frozen=True)
class ChainReport:
    checked: int  # chained rows verified
    unchained: int  # rows written before the chain existed (not verifiable)
    head_seq: int
    head_hash: str
    problem: str | None  # the first row altered, removed or reordered

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(session: Session) -> ChainReport:
    """Walk the chain in seq order and report the first break."""
    unchained = session.scalar(
        select(func.count()).select_from(AuditRecord).where(AuditRecord.seq.is_(None))
    ) or 0
    previous, expected_seq, checked = GENESIS, 1, 0
    # Rows were linked in insertion order, so seq order and pk order agree; a row whose
    # successor in seq has a smaller pk was moved. Look one row ahead to see it.
    rows = _rows(session)
    current = next(rows, None)
    while current is not None:
        row, references = current
        following = next(rows, None)
        problem = _problem(row, references, following, expected_seq, previous)
        if problem is not None:
            return ChainReport(checked, unchained, expected_seq - 1, previous, problem)
        previous, expected_seq, checked = row.chain_hash or "", expected_seq + 1, checked + 1
        current = following
    return ChainReport(checked, unchained, expected_seq - 1, previous, None)


def _problem(
    row: AuditRecord,
    references: list[str],
    following: tuple[AuditRecord, list[str]] | None,
    expected_seq: int,
    previous: str,
) -> str | None:
    where = f"seq {row.seq} (AuditEvent/{row.id}, pk {row.pk})"
    if row.seq != expected_seq:
        if row.seq is not None and row.seq > expected_seq:
            return f"seq {expected_seq} to {row.seq - 1} removed (the chain jumps to {where})"
        return f"{where} repeats a seq"
    if following is not None and following[0].pk < row.pk:
        return f"{where} reordered (the next seq was written before it)"
    record = {k: getattr(row, k) for k in CONTENT}
    if link(previous, expected_seq, record, references) != row.chain_hash:
        return f"{where} altered"
    return None


def _rows(session: Session) -> Iterator[tuple[AuditRecord, list[str]]]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.seq > after)
            .order_by(AuditRecord.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        refs: dict[int, list[str]] = {r.pk: [] for r in rows}
        for pk, ref in session.execute(
            select(AuditEntity.audit_pk, AuditEntity.reference).where(
                AuditEntity.audit_pk.in_(list(refs))
            )
        ):
            refs[pk].append(ref)
        for r in rows:
            yield r, refs[r.pk]
        after = rows[-1].seq or after


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value
