"""The audit trail's hash chain, kept apart from the AuditEvents it links (see audit_chain)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base


class AuditSeal(Base):
    """One AuditEvent's place in the chain: `seq` 1, 2, 3, ... with no gaps, and
    `chain_hash` over the previous seal's hash, its seq and the event's content (an HMAC
    with the key `key_id` names, or plain SHA-256 before the chain was keyed). Written by
    the sealer after the event commits; append-only like the trail itself."""

    __tablename__ = "audit_seal"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    audit_pk: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_event.pk"))
    chain_hash: Mapped[str] = mapped_column(String(64))
    # The key whose HMAC made chain_hash (audit_key.key_id); NULL: plain SHA-256, sealed
    # before the chain was keyed.
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (UniqueConstraint("audit_pk", name="uq_audit_seal_audit_pk"),)
