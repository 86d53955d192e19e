"""Building nurse-view test data through the FHIR API, as a GP or hospital system would.
FIXED_NOW is 2026-06-15T12:00Z; the rules are rules/default.yaml."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

from app.fhir.service_key import BOOKING_ORGANIZATION
from tests.factories import (
    appointment,
    child,
    created_id,
    nhs_number,
    post,
    related_person,
)

STATUS_SYSTEM = "https://wnb.dev/fhir/CodeSystem/safeguarding-status"
_ids = itertools.count(1)


def noshow(client: TestClient, pid: str, start: str, service: str = "dental", **extra: Any) -> str:
    body = appointment(
        f"Patient/{pid}", "noshow", f"{start}T09:00:00Z", f"appt-{next(_ids)}", service, **extra
    )
    return created_id(post(client, "Appointment", body))


def carer(client: TestClient, pid: str, nhs: str, code: str = "MTH", **extra: Any) -> str:
    body = {**related_person(f"Patient/{pid}", nhs, code), **extra}
    return created_id(post(client, "RelatedPerson", body))


def booked_by(organisation: str) -> dict[str, Any]:
    """The UK Core BookingOrganization extension naming an ODS code."""
    return {
        "extension": [
            {
                "url": BOOKING_ORGANIZATION,
                "valueReference": {
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": organisation,
                    }
                },
            }
        ]
    }


def status_flag(client: TestClient, pid: str, code: str, start: str, end: str | None = None) -> str:
    """A safeguarding status (cp-plan, looked-after, child-in-need) sent in as a Flag."""
    flag = {
        "resourceType": "Flag",
        "status": "inactive" if end else "active",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": STATUS_SYSTEM, "code": code}]},
        "period": {"start": start, **({"end": end} if end else {})},
    }
    return created_id(post(client, "Flag", flag))


def siblings(client: TestClient) -> tuple[str, str, str]:
    """Two children of one mother, each not brought within 90 days: family-wnb for both.
    Returns (older child, younger child, mother's NHS number)."""
    mother = nhs_number()
    older = child(client, "2015-05-05", "Cat", "Jones")
    younger = child(client, "2018-02-02", "Dan", "Jones")
    carer(client, older, mother)
    carer(client, younger, mother)
    # 15 days ago: its 14-calendar-day follow-up window closed last night (not-rebooked).
    noshow(client, older, "2026-05-31", "school-nursing")
    noshow(client, younger, "2026-06-05", "gp")
    return older, younger, mother


def flags_of(client: TestClient, **params: str) -> list[dict[str, Any]]:
    r = client.get("/api/worklist", params={"_count": "100", **params})
    assert r.status_code == 200, r.text
    return [c for family in r.json()["items"] for c in family["concerns"]]


def only_flag(client: TestClient, pid: str, rule: str) -> dict[str, Any]:
    [flag] = [f for f in flags_of(client, rule=rule, state="all") if f["child"]["id"] == pid]
    return flag


def audited_for(client: TestClient, pid: str) -> list[dict[str, Any]]:
    """The AuditEvents naming Patient/pid, newest first."""
    r = client.get("/fhir/AuditEvent", params={"patient": pid, "_count": "200"})
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", [])]
