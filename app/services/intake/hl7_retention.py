"""How long the raw text of HL7 v2 messages is kept (`WNB_HL7_RETENTION_DAYS`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.store import hl7_repo


def erase_expired(session: Session, now: datetime, days: int) -> int:
    """Erase the text of messages older than `days`; their ACKs stay for re-sends."""
    return hl7_repo.erase_raw_before(session, now - timedelta(days=days))
