"""Which patient a resource is about: what the audit names when the resource is disclosed."""

from __future__ import annotations

from typing import Any

from app.fhir.coding import subject_patient
from app.fhir.references import split_local

CODED_TYPES = frozenset({"Appointment", "Observation"})


def patient_of(data: dict[str, Any], rid: str) -> str | None:
    """The id of the Patient `data` (stored as Type/rid) is about, if it names one."""
    type_name = data["resourceType"]
    if type_name == "Patient":
        return rid
    if type_name in CODED_TYPES:
        return subject_patient(data)
    ref = data.get("patient" if type_name == "RelatedPerson" else "subject") or {}
    local = split_local(ref.get("reference") or "")
    return local[1] if local and local[0] == "Patient" else None
