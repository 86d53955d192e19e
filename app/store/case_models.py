"""Tables of the nurse's case work: who owns a child's case and when it is next reviewed,
and what she shared with other agencies herself."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import PK, Base, UtcDateTime


class CaseOwner(Base):
    """The nurse who owns a child's case: one owner per child, whatever flags the child holds,
    so the ownership outlives any one flag and follows the child into the next."""

    __tablename__ = "case_owner"
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(
        ForeignKey("user_account.username", ondelete="CASCADE"), index=True
    )
    next_review: Mapped[date | None] = mapped_column(Date)
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SharingRecord(Base):
    """Something a nurse shared with another agency herself ("discussed with the health
    visitor by phone"), kept beside the webhooks the service sent so the chronology shows
    everything each agency was told."""

    __tablename__ = "sharing_record"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(32))
    shared_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
