"""Turning the references of incoming resources into ids this server holds."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.errors import FhirError, Issue
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.fhir.parse import WRITABLE_TYPES
from app.fhir.references import iter_references, split_local
from app.store import resources_repo

# Literal references that must point at a stored resource. An Organization need not be
# stored: sources named practices by reference long before Organization could be sent, and
# its name is context for a person, never a fact a rule reads.
CHECKED_TYPES = tuple(t for t in WRITABLE_TYPES if t != "Organization")


class BundleIds:
    """Ids known inside one request: urn:uuid fullUrls and identity keys created by it."""

    def __init__(self) -> None:
        self.urns: dict[str, str] = {}
        self.created: set[tuple[str, str]] = set()
        self.patients_by_nhs: dict[str, str] = {}
        # Stored Patients' birth dates, read with the check that they exist (None: none
        # given); coding the appointments that name them needs no second look.
        self.births: dict[str, tuple[date, date] | None] = {}


def resolve_references(
    session: Session, items: list[tuple[dict[str, Any], str]], ids: BundleIds
) -> None:
    """Rewrite urn:uuid and NHS-number references in place and check literal targets exist.

    `items` are (resource, FHIRPath prefix). All lookups for the batch are one query per type.
    Raises 422 naming every reference that points at nothing.
    """
    literal: dict[str, set[str]] = {}
    nhs: set[str] = set()
    refs: list[tuple[dict[str, Any], str]] = []
    for data, where in items:
        for ref, path in iter_references(data, where or data["resourceType"]):
            target = ref.get("reference")
            if isinstance(target, str) and target.startswith("urn:"):
                if not ids.urns.get(target):
                    raise FhirError.one(
                        422, "not-found", _urn_problem(target, ids), f"{path}.reference"
                    )
                ref["reference"] = ids.urns[target]
            refs.append((ref, path))
            local = split_local(ref.get("reference") or "")
            if local and local[0] in CHECKED_TYPES:
                literal.setdefault(local[0], set()).add(local[1])
            elif _patient_identifier(ref):
                nhs.add(ref["identifier"]["value"])
    known = set(ids.created)
    for t, wanted in literal.items():
        unknown = wanted - {x for tt, x in ids.created if tt == t}
        if t == "Patient":
            births = resources_repo.patient_births(session, unknown)
            ids.births.update(births)
            known |= {("Patient", i) for i in births}
        else:
            known |= {(t, i) for i in resources_repo.existing_ids(session, t, unknown)}
    by_nhs = dict(ids.patients_by_nhs)
    by_nhs.update(
        resources_repo.patients_by_identifier(session, NHS_NUMBER_SYSTEM, nhs - set(by_nhs))
    )
    missing: list[Issue] = []
    for ref, path in refs:
        local = split_local(ref.get("reference") or "")
        if local and local[0] in CHECKED_TYPES and local not in known:
            missing.append(
                Issue(
                    "not-found",
                    f"{local[0]}/{local[1]} does not exist on this "
                    "server; send it first or in the same transaction.",
                    f"{path}.reference",
                )
            )
        elif not local and _patient_identifier(ref):
            value = ref["identifier"]["value"]
            if value in by_nhs:
                ref["reference"] = f"Patient/{by_nhs[value]}"
            elif ref.get("type") == "Patient":
                missing.append(
                    Issue(
                        "not-found",
                        "No Patient with this NHS number is stored; send the Patient first.",
                        f"{path}.identifier.value",
                    )
                )
    if missing:
        raise FhirError(422, missing)


def _urn_problem(target: str, ids: BundleIds) -> str:
    if target in ids.urns:
        return (
            f"{target} points at an entry stored after this one (entries are stored in the "
            "order Organization/Patient, RelatedPerson/Group, Flag/Observation, Appointment)."
        )
    return f"{target} is not the fullUrl of any entry in this Bundle."


def _patient_identifier(ref: dict[str, Any]) -> bool:
    ident = ref.get("identifier")
    return (
        not ref.get("reference")
        and isinstance(ident, dict)
        and ident.get("system") == NHS_NUMBER_SYSTEM
        and isinstance(ident.get("value"), str)
        and ref.get("type") in (None, "Patient")
    )
