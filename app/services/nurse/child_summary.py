"""How a child looks to a nurse: name, birth date, age and NHS number from the Patient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.dates import parse_date
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.services.nurse.shapes.concern import ChildSummary
from app.store import worklist_repo
from app.store.models import Resource


def person_name(data: dict[str, Any]) -> str | None:
    """The official (else the first) HumanName as one line of text."""
    names = [n for n in data.get("name") or [] if isinstance(n, dict)]
    if not names:
        return None
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if isinstance(text := name.get("text"), str) and text.strip():
        return text.strip()
    given = [g for g in name.get("given") or [] if isinstance(g, str)]
    family = name.get("family") if isinstance(name.get("family"), str) else None
    return " ".join([*given, *([family] if family else [])]) or None


def child_summary(child_id: str, patient: Resource | None, today: date) -> ChildSummary:
    data = orjson.loads(patient.content) if patient else {}
    raw_birth = data.get("birthDate") if isinstance(data.get("birthDate"), str) else None
    birth = parse_date(raw_birth) if raw_birth else None
    return ChildSummary(
        id=child_id,
        name=person_name(data),
        birth_date=raw_birth,
        age_days=(today - birth).days if birth else None,
        nhs_number=nhs_number(data),
    )


def nhs_number(data: dict[str, Any]) -> str | None:
    """The NHS number among the Patient's identifiers, if it carries one."""
    for ident in data.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == NHS_NUMBER_SYSTEM:
            value = ident.get("value")
            return value if isinstance(value, str) else None
    return None


def children(session: Session, ids: Sequence[str], today: date) -> dict[str, ChildSummary]:
    found = worklist_repo.patients(session, ids)
    return {i: child_summary(i, found.get(i), today) for i in ids}
