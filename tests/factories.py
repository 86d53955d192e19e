"""Building FHIR test resources. NHS numbers are generated, never copied from examples."""

from __future__ import annotations

import itertools
from typing import Any

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit

FHIR_JSON = {"Content-Type": "application/fhir+json"}
APPT_SYSTEM = "https://trust.example/appointments"
_counter = itertools.count(100000)


def nhs_number() -> str:
    """A fresh valid NHS number from the 999 test range."""
    while True:
        first = f"999{next(_counter):06d}"
        digit = check_digit(first)
        if digit is not None:
            return f"{first}{digit}"


def patient(
    nhs: str | None = None,
    birth: str = "2020-03-01",
    family: str = "Smith",
    given: str = "Ann",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs or nhs_number()}],
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        **extra,
    }


def appointment(
    patient_ref: str | dict[str, Any],
    status: str = "noshow",
    start: str = "2026-06-01T09:00:00Z",
    ident: str | None = None,
    service: str = "dental",
    **extra: Any,
) -> dict[str, Any]:
    actor = {"reference": patient_ref} if isinstance(patient_ref, str) else patient_ref
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": status,
        "serviceType": [{"coding": [{"system": "https://example.org/service", "code": service}]}],
        "participant": [{"actor": actor, "status": "accepted"}],
        **({"start": start, "end": start.replace("T09:", "T10:")} if start else {}),
        **extra,
    }
    if ident:
        data["identifier"] = [{"system": APPT_SYSTEM, "value": ident}]
    return data


def related_person(patient_ref: str, nhs: str, code: str = "MTH") -> dict[str, Any]:
    return {
        "resourceType": "RelatedPerson",
        "patient": {"reference": patient_ref},
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "relationship": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code}
                ]
            }
        ],
    }


def post(client: Any, type_name: str, data: dict[str, Any], **headers: str) -> Any:
    return client.post(f"/fhir/{type_name}", json=data, headers={**FHIR_JSON, **headers})


def created_id(response: Any) -> str:
    assert response.status_code in (200, 201), response.text
    return response.json()["id"]
