"""Queries over HL7 v2 senders and the messages they sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.store.auth_models import ApiClient
from app.store.changed import rows_changed
from app.store.hl7_models import Hl7Message


def sender_of_facility(session: Session, facility: str) -> ApiClient | None:
    """The client registered for an MSH-4 sending facility (case does not matter)."""
    query = select(ApiClient).where(func.upper(ApiClient.hl7_facility) == facility.upper())
    return session.scalars(query).first()


def message_of(session: Session, client_id: str, control_id: str) -> Hl7Message | None:
    """The message this sender got AA for under `control_id`, else the last one it sent."""
    query = select(Hl7Message).where(
        Hl7Message.client_id == client_id, Hl7Message.control_id == control_id
    )
    order = (Hl7Message.accepted_id.is_(None), Hl7Message.pk.desc())
    return session.scalars(query.order_by(*order).limit(1)).first()


def keep(session: Session, row: dict[str, Any]) -> None:
    """One received message; a second accepted under the same sender and control id fails
    (IntegrityError): the unit of work is retried and finds the first."""
    session.execute(insert(Hl7Message).values(**row))


def erase_raw_before(session: Session, cutoff: datetime) -> int:
    """Forget the text of messages received before `cutoff`; their ACKs stay, so a late
    re-send still gets the answer it got."""
    return rows_changed(
        session,
        update(Hl7Message)
        .where(Hl7Message.received_at < cutoff, Hl7Message.raw.is_not(None))
        .values(raw=None),
    )


def messages_of_sender(session: Session, client_id: str) -> list[Hl7Message]:
    query = select(Hl7Message).where(Hl7Message.client_id == client_id)
    return list(session.scalars(query.order_by(Hl7Message.pk)))
