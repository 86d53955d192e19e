"""A family's carers: the RelatedPerson resources of its children, one carer per person
(grouped by NHS number, else by their first identifier), with the Patient record that
carer has here when their identifier names one (so their own missed appointments count)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.services.nurse.child_summary import person_name
from app.services.nurse.shapes.chronology import Carer
from app.store import chronology_repo, resources_repo


def carer_key(rid: str, data: dict[str, Any]) -> tuple[str, dict[str, str] | None]:
    """The key that makes two RelatedPersons one carer, and the identifier behind it."""
    idents = [
        {"system": str(i["system"]), "value": str(i["value"])}
        for i in data.get("identifier") or []
        if isinstance(i, dict) and i.get("system") and i.get("value")
    ]
    if not idents:
        return f"RelatedPerson/{rid}", None
    chosen = next((i for i in idents if i["system"] == NHS_NUMBER_SYSTEM), idents[0])
    return f"{chosen['system']}|{chosen['value']}", chosen


def relationships(data: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for concept in data.get("relationship") or []:
        if not isinstance(concept, dict):
            continue
        codes = [c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)]
        out.update(str(c) for c in codes if c)
        if not codes and isinstance(concept.get("text"), str):
            out.add(concept["text"])
    return out


def contact_of(data: dict[str, Any]) -> dict[str, list[str]]:
    """Telephone, email and address as the source sent them, each as one line to read: the
    banner shows a nurse how to reach the person, so nothing is normalised away."""
    telecom = [
        f"{t['value']} ({t['use']})" if isinstance(t.get("use"), str) else str(t["value"])
        for t in data.get("telecom") or []
        if isinstance(t, dict) and isinstance(t.get("value"), str) and t["value"].strip()
    ]
    address = []
    for a in data.get("address") or []:
        if not isinstance(a, dict):
            continue
        text = a.get("text")
        if not isinstance(text, str) or not text.strip():
            parts = [*(a.get("line") or []), a.get("city"), a.get("postalCode")]
            text = ", ".join(p for p in parts if isinstance(p, str) and p.strip())
        if text:
            address.append(text)
    return {"telecom": telecom, "address": address}


def carers_of(session: Session, child_ids: Sequence[str]) -> list[Carer]:
    """One entry per carer, in key order; `patient_id` is the carer's own Patient, if any."""
    grouped: dict[str, dict[str, Any]] = {}
    for rp in chronology_repo.related_persons_of(session, child_ids):
        data = orjson.loads(rp.content)
        key, ident = carer_key(rp.id, data)
        carer = grouped.setdefault(
            key,
            {
                "key": key,
                "identifier": ident,
                "name": None,
                "relationships": set(),
                "related_persons": [],
                "children": set(),
                "active": False,
                "patient_id": None,
                "telecom": [],
                "address": [],
            },
        )
        carer["name"] = carer["name"] or person_name(data)
        carer["relationships"] |= relationships(data)
        for kind, sent in contact_of(data).items():
            carer[kind] += [v for v in sent if v not in carer[kind]]
        carer["related_persons"].append(f"RelatedPerson/{rp.id}")
        carer["children"].add(rp.patient_id)
        carer["active"] = carer["active"] or data.get("active") is not False
    found = _patient_ids(session, [c["identifier"] for c in grouped.values() if c["identifier"]])
    for key, carer in grouped.items():
        carer["patient_id"] = found.get(key)
        carer["relationships"] = sorted(carer["relationships"])
        carer["children"] = sorted(c for c in carer["children"] if c)
    return [Carer(**grouped[k]) for k in sorted(grouped)]


def _patient_ids(session: Session, idents: list[dict[str, str]]) -> dict[str, str]:
    """The Patient id holding each identifier, keyed "system|value"; one query a system."""
    by_system: dict[str, set[str]] = {}
    for ident in idents:
        by_system.setdefault(ident["system"], set()).add(ident["value"])
    return {
        f"{system}|{value}": rid
        for system, values in sorted(by_system.items())
        for value, rid in resources_repo.patients_by_identifier(session, system, values).items()
    }
