"""Sealing the audit trail: linking committed AuditEvents into the hash chain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.store import audit_chain
from app.store.audit_key import AuditKeys

BATCH = audit_chain.BATCH
KeyMissing = audit_chain.KeyMissing


def seal_trail(session: Session, keys: AuditKeys, everything: bool = False) -> int:
    """Seal up to one batch of committed events under the current key (the newest stretch
    of the trail, or all of it with `everything`, which finds an event that committed long
    after its neighbours). Returns how many were sealed; raises KeyMissing when the chain is
    keyed and `keys` holds none."""
    return audit_chain.seal(session, BATCH, everything, keys)
