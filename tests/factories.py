"""Building FHIR test resources, and the small steps most tests take (a child posted, a missed
appointment, a signed-in page). NHS numbers are generated, never copied from examples."""

from __future__ import annotations

import itertools
import re
from typing import Any

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit
from tests.conftest import PASSWORD

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


def child(client: Any, birth: str = "2019-01-01", given: str = "Ann", family: str = "Smith") -> str:
    """A child posted as a Patient; its server id."""
    return created_id(post(client, "Patient", patient(birth=birth, given=given, family=family)))


def missed(
    client: Any,
    pid: str,
    when: str,
    service: str = "dental",
    status: str = "noshow",
    ident: str | None = None,
) -> str:
    """An appointment of `pid` on day `when` (09:00Z) with `status`; its server id."""
    body = appointment(f"Patient/{pid}", status, f"{when}T09:00:00Z", ident=ident, service=service)
    return created_id(post(client, "Appointment", body))


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "form has no CSRF token"
    return m.group(1)


def sign_in(http: Any, username: str, password: str = PASSWORD) -> Any:
    """Signs in through the login form; the form's answer (303 on success)."""
    token = csrf_of(http.get("/login").text)
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
