"""What operators watch: how far reconciliation is behind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.store import reconcile_repo


def reconcile_backlog(session: Session, now: datetime) -> tuple[int, float]:
    """(patients due for reconciliation, seconds the oldest has waited)."""
    count, oldest = reconcile_repo.due_summary(session, now)
    return count, (now - oldest).total_seconds() if oldest else 0.0
