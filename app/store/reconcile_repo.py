"""Durable reconcile marks, merged patient records and the rules fingerprint: what makes
"flags follow the facts" survive a crash and reach every family a fact touches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.store import combined
from app.store.driver import driver_types
from app.store.models import CodedEvent
from app.store.reconcile_models import PatientAlias, ReconcileDue, ServiceState


def upsert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    dialect = session.connection().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def mark(session: Session, patient_ids: Iterable[str], due_at: datetime) -> None:
    """Ask for these patients' families to be reconciled at `due_at` (an earlier mark wins)."""
    rows = [{"patient_id": p, "due_at": due_at} for p in sorted(set(patient_ids))]
    if not rows:
        return
    statement = upsert(session, ReconcileDue)
    earlier = func.least if session.connection().dialect.name == "postgresql" else func.min
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["patient_id"],
            set_={"due_at": earlier(ReconcileDue.due_at, statement.excluded.due_at)},
        ),
        rows,
    )


def set_marks(session: Session, due: Mapping[datetime, Iterable[str]]) -> None:
    """Families' next deadlines, in one statement: each patient's mark becomes its time (a
    patient given twice keeps the earlier). On PostgreSQL through the driver, so a
    `combined` block sends it with the concerns' writes."""
    marks: dict[str, datetime] = {}
    for at, patients in sorted(due.items()):
        for p in patients:
            marks.setdefault(p, at)
    if not marks:
        return
    marks = dict(sorted(marks.items()))  # rows locked in one order by every writer of marks
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        times = [_DUE_AT(at) for at in marks.values()] if _DUE_AT else list(marks.values())
        combined.write(connection, ReconcileDue.__tablename__, _SET_MARKS, [list(marks), times])
        return
    statement = upsert(session, ReconcileDue)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["patient_id"], set_={"due_at": statement.excluded.due_at}
        ),
        [{"patient_id": p, "due_at": at} for p, at in marks.items()],
    )


_SET_MARKS = (
    "INSERT INTO reconcile_due (patient_id, due_at) SELECT * FROM "
    "unnest(%b::VARCHAR[], %b::TIMESTAMP WITH TIME ZONE[]) "
    "ON CONFLICT (patient_id) DO UPDATE SET due_at = excluded.due_at"
)
# What `UtcDateTime` does to a time before the driver gets it (refuses a naive one).
_DUE_AT = driver_types([ReconcileDue.__table__.c.due_at], postgresql.dialect())[0]


def clear_done(session: Session, patient_ids: Iterable[str], now: datetime) -> None:
    """Forget the marks of these patients that were due by `now` (those just reconciled;
    a mark moved to a later deadline stays)."""
    wanted = sorted(set(patient_ids))
    if wanted:
        session.execute(
            delete(ReconcileDue).where(
                ReconcileDue.patient_id.in_(wanted), ReconcileDue.due_at <= now
            )
        )


def claim_due(session: Session, now: datetime, limit: int) -> list[str]:
    """Patients whose reconciliation is due, locked so several workers share them out
    (PostgreSQL SKIP LOCKED; SQLite has one writer anyway)."""
    rows = session.execute(
        select(ReconcileDue.patient_id)
        .where(ReconcileDue.due_at <= now)
        .order_by(ReconcileDue.due_at, ReconcileDue.patient_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [p for (p,) in rows]


def due_summary(session: Session, now: datetime) -> tuple[int, datetime | None]:
    """(how many marks are due by `now`, the oldest due time)."""
    count, oldest = session.execute(
        select(func.count(), func.min(ReconcileDue.due_at)).where(ReconcileDue.due_at <= now)
    ).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite keeps no zone
        oldest = oldest.replace(tzinfo=UTC)
    return count or 0, oldest


def mark_every_child(session: Session, now: datetime) -> int:
    """Mark every patient with a child's event (a new rules version). Returns how many."""
    children = select(CodedEvent.child_id).where(CodedEvent.is_child).distinct()
    ids = [p for (p,) in session.execute(children)]
    for start in range(0, len(ids), 5000):
        mark(session, ids[start : start + 5000], now)
    return len(ids)


def swap_state_value(session: Session, key: str, value: str) -> bool:
    """Store `value` under `key`; False if it was already the value (nothing to do)."""
    if state_value(session, key) == value:
        return False
    set_state_value(session, key, value)
    return True


def state_value(session: Session, key: str) -> str | None:
    return session.scalar(select(ServiceState.value).where(ServiceState.key == key))


def set_state_value(session: Session, key: str, value: str) -> None:
    statement = upsert(session, ServiceState)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={"value": statement.excluded.value}
        ),
        [{"key": key, "value": value}],
    )


def all_aliases(session: Session) -> dict[str, str]:
    """Every merged record -> the record it names as its replacement (for the backtest)."""
    rows = session.execute(select(PatientAlias.patient_id, PatientAlias.canonical_id))
    return {p: c for p, c in rows}
