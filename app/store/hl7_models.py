"""The HL7 v2 messages received: the raw text (kept for audit until the retention setting
erases it) and the ACK each got, so a re-sent control id gets the same answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import PK, Base, UtcDateTime


class Hl7Message(Base):
    __tablename__ = "hl7_message"
    # One accepted message per control id per sender (a refused one may be corrected and sent
    # again under the same id); messages from no known sender repeat freely.
    __table_args__ = (
        UniqueConstraint("client_id", "accepted_id", name="uq_hl7_message_accepted"),
    )
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    facility: Mapped[str | None] = mapped_column(String(200))
    control_id: Mapped[str | None] = mapped_column(String(200), index=True)
    accepted_id: Mapped[str | None] = mapped_column(String(200))  # the control id once AA
    message_type: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    raw: Mapped[str | None] = mapped_column(Text)  # None once past the retention period
    ack_code: Mapped[str] = mapped_column(String(2))
    ack: Mapped[str] = mapped_column(Text)
