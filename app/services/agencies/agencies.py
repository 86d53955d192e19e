"""Registering a client as a partner agency: its type and the areas it serves."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from app.store import agency_repo
from app.store.webhook_models import AgencyBinding

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_AREA = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_areas(text: str) -> list[str]:
    """`CODE[,CODE]` as a list; ValueError naming a bad code."""
    areas = [a.strip() for a in text.split(",") if a.strip()]
    if not areas:
        raise ValueError("an agency needs --area CODE[,CODE] (the organisation codes it serves)")
    for area in areas:
        if not _AREA.match(area):
            raise ValueError(f"--area {area!r} is not an organisation code")
    return areas


def bind_agency(
    session: Session, client_id: str, agency_type: str, areas: list[str], full_resource: bool
) -> None:
    """Record what the agency client is. Its type must be a word rule files use in
    `agencies` (gp, health-visiting, school-nursing, social-care, safeguarding-team...)."""
    if not _SLUG.match(agency_type):
        raise ValueError(f"--agency-type {agency_type!r} must be a lower-case word such as gp")
    agency_repo.add_binding(
        session,
        AgencyBinding(
            client_id=client_id,
            agency_type=agency_type,
            areas=" ".join(dict.fromkeys(areas)),
            full_resource=full_resource,
        ),
    )
