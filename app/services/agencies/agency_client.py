"""`wnb client add`: a client, and for the agency role its registration as an agency."""

from __future__ import annotations

from argparse import Namespace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.services.access.clients import NewClient, add_client
from app.services.access.hl7_senders import register_facility
from app.services.agencies.agencies import bind_agency, parse_areas


def add_agency_or_client(
    session: Session, args: Namespace, jwks: dict[str, Any] | None, now: datetime
) -> NewClient:
    """Register the client; an agency also gets its type and areas, in the same transaction."""
    is_agency = args.role == "agency"
    if not is_agency and (args.agency_type or args.area or args.full_resource):
        raise ValueError("--agency-type, --area and --full-resource go with --role agency")
    if is_agency and not args.agency_type:
        raise ValueError("an agency needs --agency-type (gp, health-visiting, social-care...)")
    areas = parse_areas(args.area or "") if is_agency else []
    facility = getattr(args, "hl7_facility", None)
    if facility is not None and args.role != "source":
        raise ValueError("--hl7-facility goes with --role source")
    new = add_client(session, args.name, args.scopes, args.role, jwks, now)
    if facility is not None:
        register_facility(session, new.client_id, facility)
    if is_agency:
        bind_agency(session, new.client_id, args.agency_type, areas, args.full_resource)
    return new
