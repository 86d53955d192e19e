"""Job functions: each opens its own transaction and commits it."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.runtime import AppState
from app.services.evaluate import evaluate_due
from app.services.ingest import write_resources
from app.services.writes import WriteContext
from app.store import auth_repo

log = logging.getLogger("wnb.worker")
DUE_BATCH = 500


def checkpoint_sqlite(state: AppState) -> None:
    """Fold the SQLite write-ahead log back into the database so it cannot grow unbounded."""
    with state.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        conn.execute(text("PRAGMA optimize"))


def run_due_checks(state: AppState) -> int:
    """Decide time-based rules whose window has closed (e.g. not rebooked within 14 days),
    a batch per transaction until none is due. Returns how many checks were decided."""
    total = 0
    while True:
        count = state.write(lambda session: _decide_batch(session, state.write_context()))
        total += count
        if count < DUE_BATCH:
            break
    if total:
        log.info("decided %d due rule checks", total)
    return total


def _decide_batch(session: Session, ctx: WriteContext) -> int:
    count, raised = evaluate_due(session, ctx, DUE_BATCH)
    if raised:
        write_resources(session, raised, ctx, follow_on=False)
    return count


def housekeeping(state: AppState) -> None:
    """Forget expired client assertion ids and ended sessions."""
    now = state.clock()
    state.write(
        lambda s: (
            auth_repo.forget_expired_assertions(s, now),
            auth_repo.end_expired_sessions(s, now),
        )
    )
