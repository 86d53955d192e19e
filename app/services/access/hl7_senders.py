"""HL7 v2 senders: a source client bound to the MSH-4 sending facility its messages carry."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.store import auth_repo, hl7_repo


def register_facility(session: Session, client_id: str, facility: str) -> None:
    """Bind `facility` to the client. One client per facility: its messages are written and
    audited as that client's."""
    name = facility.strip()
    if not name or len(name) > 200 or any(c in name for c in "|^~\\&\r\n"):
        raise ValueError("--hl7-facility must be 1-200 characters without HL7 delimiters")
    taken = hl7_repo.sender_of_facility(session, name)
    if taken is not None and taken.client_id != client_id:
        raise ValueError(f"the facility {name!r} is already registered to another client")
    client = auth_repo.client(session, client_id)
    if client is None:
        raise ValueError(f"no client {client_id}")
    client.hl7_facility = name
    session.flush()
