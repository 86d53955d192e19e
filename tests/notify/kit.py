"""Agencies, subscriptions and flags for the notification tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.fhir.subscription import FILTER_CRITERIA, PAYLOAD_CONTENT, SECRET_EXTENSION
from app.fhir.subscription_topics import FLAG_CHANGED, FLAG_RAISED
from app.runtime import AppState
from app.services.access.clients import add_client
from app.services.agencies.agencies import bind_agency
from tests.factories import FHIR_JSON, appointment, created_id, patient, post

ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
__all__ = ["FLAG_CHANGED", "FLAG_RAISED"]


def agency(
    state: AppState,
    http: TestClient,
    agency_type: str = "gp",
    areas: tuple[str, ...] = ("A81001",),
    full_resource: bool = False,
) -> dict[str, str]:
    """Register an agency client and get it a token; its Authorization header."""
    return registered_agency(state, http, agency_type, areas, full_resource)[1]


def registered_agency(
    state: AppState,
    http: TestClient,
    agency_type: str = "gp",
    areas: tuple[str, ...] = ("A81001",),
    full_resource: bool = False,
) -> tuple[str, dict[str, str]]:
    """`agency`, with the client id too."""

    def register(session: Any) -> tuple[str, str]:
        new = add_client(session, f"{agency_type} agency", None, "agency", None, state.clock())
        bind_agency(session, new.client_id, agency_type, list(areas), full_resource)
        return new.client_id, new.client_secret or ""

    client_id, secret = state.write(register)
    r = http.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert r.status_code == 200, r.text
    return client_id, {"Authorization": f"Bearer {r.json()['access_token']}"}


def subscription(
    endpoint: str,
    topic: str = FLAG_RAISED,
    filters: str | None = None,
    secret: str | None = None,
    payload: str | None = None,
    headers: list[str] | None = None,
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "type": "rest-hook",
        "endpoint": endpoint,
        "payload": "application/fhir+json",
    }
    if payload:
        channel["_payload"] = {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": payload}]}
    if headers:
        channel["header"] = headers
    data: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "safeguarding alerts for our practice",
        "criteria": topic,
        "channel": channel,
    }
    if filters:
        data["_criteria"] = {"extension": [{"url": FILTER_CRITERIA, "valueString": filters}]}
    if secret:
        data["extension"] = [{"url": SECRET_EXTENSION, "valueString": secret}]
    return data


def subscribe(http: TestClient, auth: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    r = http.post("/fhir/Subscription", json=data, headers={**FHIR_JSON, **auth})
    assert r.status_code == 201, r.text
    return r.json()


def secret_of(created: dict[str, Any]) -> str:
    return next(e["valueString"] for e in created["extension"] if e["url"] == SECRET_EXTENSION)


def infant_in(client: TestClient, practice: str, missed_on: str = "2026-06-10") -> str:
    """A baby registered at `practice` who missed an appointment: infant-wnb fires
    (agencies gp, health-visiting, safeguarding-team). The child's id."""
    pid = created_id(
        post(
            client,
            "Patient",
            patient(
                birth="2026-01-10",
                generalPractitioner=[{"identifier": {"system": ODS, "value": practice}}],
            ),
        )
    )
    created_id(
        post(client, "Appointment", appointment(f"Patient/{pid}", start=f"{missed_on}T09:00:00Z"))
    )
    return pid


def open_flag(client: TestClient, pid: str) -> str:
    r = client.get("/fhir/Flag", params={"patient": pid, "status": "active"})
    assert r.status_code == 200, r.text
    [entry] = r.json()["entry"]
    return entry["resource"]["id"]
