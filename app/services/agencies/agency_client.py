"""`wnb client add`: a client, and for the agency role its registration as an agency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.services.access.clients import NewClient, add_client
from app.services.access.hl7_senders import register_facility
from app.services.agencies.agencies import bind_agency, parse_areas


@dataclass(frozen=True)
class ClientAsked:
    """What `wnb client add` was asked for (the command line's options, by name)."""

    name: str
    role: str
    scopes: str | None = None
    agency_type: str | None = None
    area: str | None = None  # "A81001,B82002": an agency's GP practices or organisations
    full_resource: bool = False
    hl7_facility: str | None = None  # a source's HL7 v2 sending facility


def add_agency_or_client(
    session: Session, asked: ClientAsked, jwks: dict[str, Any] | None, now: datetime
) -> NewClient:
    """Register the client; an agency also gets its type and areas, in the same transaction."""
    is_agency = asked.role == "agency"
    if not is_agency and (asked.agency_type or asked.area or asked.full_resource):
        raise ValueError("--agency-type, --area and --full-resource go with --role agency")
    if is_agency and not asked.agency_type:
        raise ValueError("an agency needs --agency-type (gp, health-visiting, social-care...)")
    areas = parse_areas(asked.area or "") if is_agency else []
    facility = asked.hl7_facility
    if facility is not None and asked.role != "source":
        raise ValueError("--hl7-facility goes with --role source")
    new = add_client(session, asked.name, asked.scopes, asked.role, jwks, now)
    if facility is not None:
        register_facility(session, new.client_id, facility)
    if is_agency and asked.agency_type:
        bind_agency(session, new.client_id, asked.agency_type, areas, asked.full_resource)
    return new
