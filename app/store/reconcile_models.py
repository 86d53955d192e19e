"""Tables of reconciliation: durable marks, merged patient records, the rules last applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base, UtcDateTime


class ReconcileDue(Base):
    """A patient whose family's flags must be brought in line with its facts: now (a fact
    changed and its reconciliation has not committed yet) or at `due_at` (a time-based rule's
    window closes). Written in the transaction that changed the facts, so nothing is lost if
    the process dies before the flags are reconciled; the worker completes what is left."""

    __tablename__ = "reconcile_due"
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class PatientAlias(Base):
    """A merged record (`Patient.link` replaced-by / replaces): its events count as the
    surviving record's, and flags are raised on the surviving record only."""

    __tablename__ = "patient_alias"
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    canonical_id: Mapped[str] = mapped_column(String(64), index=True)


class ServiceState(Base):
    """Small facts about the store itself, e.g. the fingerprint of the rules last applied."""

    __tablename__ = "service_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class LinkDue(Base):
    """A carer (RelatedPerson) or household (Group) whose family links must be worked out
    again at `due_at`: a period it states starts or ends then, or the terminology's list of
    identifiers that link no one changed. Durable, so a boundary passes even with no new fact."""

    __tablename__ = "link_due"
    source: Mapped[str] = mapped_column(String(120), primary_key=True)  # "RelatedPerson/id"
    due_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class FamilyConfirmed(Base):
    """A family larger than `WNB_FAMILY_ALERT_SIZE` that an admin confirmed is one family
    (not an unlisted shared carer identifier): its family-level rules are no longer held."""

    __tablename__ = "family_confirmed"
    family_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column()  # members when confirmed; a larger family asks again
    confirmed_by: Mapped[str] = mapped_column(String(120))
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime())
