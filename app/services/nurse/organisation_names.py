"""Organisations by name: "Riverside Surgery (A81001)", not "A81001". A stored Organization
resource names its code; where none does, the display a source sent with the code (on an
Appointment participant, Patient.generalPractitioner or managingOrganization) stands in; a
code never sent with a name stays a code. Resolved on reading (one query a page), so the
write path of an Appointment gains no statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from sqlalchemy.orm import Session

from app.fhir.organisations import ODS_SYSTEM, organisation_code
from app.services.nurse.shapes.chronology import EventItem
from app.store import organisations_repo


def organisation_names(
    session: Session, codes: Iterable[str | None], sent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The name of each code that has one: its Organization's (an ODS identifier first),
    else `sent` (displays the caller read with the code). A code may be a reference
    ("Organization/RTD01"): the id behind it is looked up."""
    wanted = {c for c in codes if c}
    keys = {c: organisation_code(c) or c for c in wanted}
    stored = organisations_repo.organizations_by_code(session, keys.values())
    out: dict[str, str] = {}
    for code, key in keys.items():
        name = _best_name(key, stored.get(key, [])) or (sent or {}).get(code)
        if name:
            out[code] = name
    return out


def name_items(session: Session, items: list[EventItem]) -> list[EventItem]:
    """Put each item's organisation name beside its code: the stored name, else the display
    the item carries already (from its coded event)."""
    sent = {
        i.organisation: i.organisation_name for i in items if i.organisation and i.organisation_name
    }
    names = organisation_names(session, (i.organisation for i in items), sent)
    for i in items:
        if i.organisation:
            i.organisation_name = names.get(i.organisation)
    return items


def shown(code: str | None, name: str | None) -> str | None:
    """What a person reads: "Name (code)", the code alone when it has no name."""
    if not code:
        return name
    return f"{name} ({organisation_code(code) or code})" if name and name != code else code


def _best_name(key: str, contents: list[str]) -> str | None:
    ranked: list[tuple[int, str]] = []
    for content in contents:
        data = orjson.loads(content)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        ods = any(
            isinstance(i, dict) and i.get("system") == ODS_SYSTEM and i.get("value") == key
            for i in data.get("identifier") or []
        )
        ranked.append((0 if ods else 1, name.strip()))
    return min(ranked)[1] if ranked else None
