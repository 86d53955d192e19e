"""Organisation codes (ODS codes, local authority codes) named by a resource: the areas a
child and its appointments belong to."""

from __future__ import annotations

from typing import Any

ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"


def organisation_code(ref: dict[str, Any] | str | None) -> str | None:
    """The code of an organisation reference: its identifier value, else the id of a literal
    reference (`Organization/A81001` is A81001); a label from a coded event likewise."""
    if not ref:
        return None
    if isinstance(ref, str):
        return ref.rstrip("/").rsplit("/", 1)[-1] or None
    value = (ref.get("identifier") or {}).get("value")
    if value:
        return str(value)
    return organisation_code(ref.get("reference"))


def patient_organisations(patient: dict[str, Any]) -> set[str]:
    """The child's GP practice(s) and managing organisation."""
    refs = [*patient.get("generalPractitioner", []), patient.get("managingOrganization")]
    return {code for ref in refs if (code := organisation_code(ref))}

