"""The worker's routine upkeep: the audit trail sealed into its hash chain, what has expired
forgotten, the error backlogs bounded, SQLite's log kept small. Each is a use case of its own
so that the worker's jobs, an edge, reach the store through the services."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.notify.error_backlog import expire_error_backlogs
from app.store import audit_chain, auth_repo, sqlite_upkeep
from app.store.audit_key import AuditKeys

SEAL_BATCH = audit_chain.BATCH
KeyMissing = audit_chain.KeyMissing


def seal_trail(session: Session, keys: AuditKeys, everything: bool = False) -> int:
    """Seal up to one batch of committed events under the current key (the newest stretch
    of the trail, or all of it with `everything`, which finds an event that committed long
    after its neighbours). Returns how many were sealed; raises KeyMissing when the chain is
    keyed and `keys` holds none."""
    return audit_chain.seal(session, SEAL_BATCH, everything, keys)


def forget_expired(session: Session, now: datetime) -> None:
    """Client assertion ids past their expiry (no replay can use them now) and ended
    sign-in sessions."""
    auth_repo.forget_expired_assertions(session, now)
    auth_repo.end_expired_sessions(session, now)


def bound_error_backlogs(session: Session, now: datetime, keep: int, hours: float) -> int:
    """Expire what waits too long, or too much, for subscriptions in error; how many."""
    return expire_error_backlogs(session, now, keep, timedelta(hours=hours))


def checkpoint_sqlite(engine: Engine) -> None:
    sqlite_upkeep.checkpoint(engine)
