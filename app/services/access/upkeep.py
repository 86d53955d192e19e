"""The worker's routine upkeep: what has expired is forgotten, SQLite's log kept small."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.notify.error_backlog import expire_error_backlogs
from app.store import auth_repo, sqlite_upkeep


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
