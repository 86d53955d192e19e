"""Sealing the audit trail: linking committed AuditEvents into the hash chain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.store import audit_chain

BATCH = audit_chain.BATCH


def seal_trail(session: Session, everything: bool = False) -> int:
    """Seal up to one batch of committed events (the newest stretch of the trail, or all of
    it with `everything`, which finds an event that committed long after its neighbours).
    Returns how many were sealed."""
    return audit_chain.seal(session, BATCH, everything)
