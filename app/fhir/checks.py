"""The checks R4B does not do: required value sets, invariants and business rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from app.fhir.errors import FhirError, Issue
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, is_valid
from app.fhir.plausible_times import implausible_times
from app.fhir.walk import walk

__all__ = ["check_resource", "walk"]

# Required bindings (R4 4.0.1) of the elements the service relies on.
APPOINTMENT_STATUS = frozenset(
    [
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    ]
)
PARTICIPANT_STATUS = frozenset(["accepted", "declined", "tentative", "needs-action"])
FLAG_STATUS = frozenset(["active", "inactive", "entered-in-error"])
OBSERVATION_STATUS = frozenset(
    [
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    ]
)
GENDER = frozenset(["male", "female", "other", "unknown"])
GROUP_TYPE = frozenset(["person", "animal", "practitioner", "device", "medication", "substance"])
NO_START_ALLOWED = frozenset({"proposed", "cancelled", "waitlist"})

VALUE_SETS: dict[str, list[tuple[str, frozenset[str]]]] = {
    "Patient": [("gender", GENDER)],
    "RelatedPerson": [("gender", GENDER)],
    "Appointment": [("status", APPOINTMENT_STATUS), ("participant[].status", PARTICIPANT_STATUS)],
    "Flag": [("status", FLAG_STATUS)],
    "Group": [("type", GROUP_TYPE)],
    "Observation": [("status", OBSERVATION_STATUS)],
}


def check_resource(data: dict[str, Any], today: date) -> None:
    """Raise 400 for codes outside required value sets, 422 for business-rule failures."""
    type_name = data["resourceType"]
    bad = [
        Issue("code-invalid", f"{value!r} is not one of: {', '.join(sorted(allowed))}.", where)
        for path, allowed in VALUE_SETS.get(type_name, [])
        for value, where in walk(data, path, type_name)
        if value not in allowed
    ]
    if type_name == "Appointment":
        bad += _appointment_invariants(data)
    if bad:
        raise FhirError(400, bad)
    rules = _nhs_numbers(data, type_name) + implausible_times(data, today)
    if type_name == "Appointment" and not _has_patient_participant(data):
        rules.append(
            Issue(
                "business-rule",
                "An appointment outcome must name the child: add a participant whose actor is a "
                "Patient (reference or NHS number identifier).",
                "Appointment.participant",
            )
        )
    birth = data.get("birthDate")
    if type_name == "Patient" and isinstance(birth, str) and birth[:10] > today.isoformat():
        rules.append(Issue("business-rule", "birthDate is in the future.", "Patient.birthDate"))
    if rules:
        raise FhirError(422, rules)


def _appointment_invariants(data: dict[str, Any]) -> list[Issue]:
    if data.get("status") in NO_START_ALLOWED or ("start" in data and "end" in data):
        return []
    # app-3: only proposed, cancelled or waitlisted appointments may lack start and end.
    return [
        Issue(
            "invariant",
            "app-3: only proposed, cancelled or waitlist appointments can be missing start/end.",
            "Appointment.start",
        )
    ]


def _has_patient_participant(data: dict[str, Any]) -> bool:
    for part in data.get("participant", []):
        actor = part.get("actor") or {}
        ref = actor.get("reference") or ""
        if (
            actor.get("type") == "Patient"
            or ref.startswith("Patient/")
            or (ref.startswith("urn:uuid:") and actor.get("type") in (None, "Patient"))
            or (not ref and (actor.get("identifier") or {}).get("system") == NHS_NUMBER_SYSTEM)
        ):
            return True
    return False


def _nhs_numbers(data: dict[str, Any], type_name: str) -> list[Issue]:
    issues = []
    for ident, where in _identifiers(data, type_name):
        if ident.get("system") == NHS_NUMBER_SYSTEM and not is_valid(str(ident.get("value", ""))):
            issues.append(
                Issue(
                    "business-rule",
                    "Invalid NHS number: it must be 10 digits that pass the Modulus 11 check.",
                    f"{where}.value",
                )
            )
    return issues


def _identifiers(data: dict[str, Any], type_name: str) -> Iterator[tuple[dict, str]]:
    for value, where in walk(data, "identifier[]", type_name):
        yield value, where
    for path in ("participant[].actor.identifier", "patient.identifier", "subject.identifier"):
        for value, where in walk(data, path, type_name):
            if isinstance(value, dict):
                yield value, where
