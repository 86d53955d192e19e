"""Tables of the nurse's case work: who owns a child's case and when it is next reviewed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.store.models import Base, UtcDateTime


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
