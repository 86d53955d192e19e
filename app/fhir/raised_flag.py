"""The FHIR Flag this service raises when a rule fires: readable evidence in an extension."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.fhir.dates import fhir_instant

FLAG_CATEGORY = {
    "system": "http://terminology.hl7.org/CodeSystem/flag-category",
    "code": "safety",
    "display": "Safety",
}


def evidence_url(canonical: str) -> str:
    return f"{canonical}/StructureDefinition/wnb-flag-evidence"


def raised_flag(
    *,
    canonical: str,
    rule_system: str,
    flag_id: str,
    rule_id: str,
    rule_version: int,
    description: str,
    summary: str,
    priority: str,
    child_id: str,
    opened_at: datetime,
    closed_at: datetime | None,
    events: list[str],
    family: list[str],
    agencies: list[str],
    state: str = "open",
    outcome: str | None = None,
    age_uncertain: bool = False,
) -> dict[str, Any]:
    """`events` are "Appointment/id" references; `family` the other children involved;
    `state` and `outcome` where the nurses' review has got to; `age_uncertain` when the
    child's birth date is partial and the age was decided on the side of the child (the
    firing's `age_uncertain_child_ids`)."""
    evidence: list[dict[str, Any]] = [
        {"url": "rule-version", "valueInteger": rule_version},
        {"url": "priority", "valueCode": priority},
        {"url": "summary", "valueString": summary},
        {"url": "review-state", "valueCode": state},
        *([{"url": "outcome", "valueCode": outcome}] if outcome else []),
        *([{"url": "age-uncertain", "valueBoolean": True}] if age_uncertain else []),
        *({"url": "agency", "valueCode": a} for a in agencies),
        *({"url": "event", "valueReference": {"reference": ref}} for ref in events),
        *(
            {"url": "family-member", "valueReference": {"reference": f"Patient/{pid}"}}
            for pid in family
            if pid != child_id
        ),
    ]
    period = {"start": fhir_instant(opened_at)}
    if closed_at is not None:
        period["end"] = fhir_instant(closed_at)
    return {
        "resourceType": "Flag",
        "id": flag_id,
        "extension": [{"url": evidence_url(canonical), "extension": evidence}],
        "identifier": [{"system": f"{canonical}/Id/raised-flag", "value": flag_id}],
        "status": "inactive" if closed_at else "active",
        "category": [{"coding": [FLAG_CATEGORY]}],
        "code": {
            "coding": [{"system": rule_system, "code": rule_id, "display": description}],
            "text": summary,
        },
        "subject": {"reference": f"Patient/{child_id}"},
        "period": period,
    }
