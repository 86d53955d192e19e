"""Each role against each interaction: allowed, or refused with 403 and recorded."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, created_id, patient, post

ALLOWED = 200  # any 2xx
# (interaction label, method, path template, body) -> roles allowed
MATRIX: list[tuple[str, str, str, str, set[str]]] = [
    ("create Patient", "POST", "/fhir/Patient", "patient", {"source", "admin"}),
    ("create Appointment", "POST", "/fhir/Appointment", "appointment", {"source", "admin"}),
    ("transaction", "POST", "/fhir", "bundle", {"source", "admin"}),
    ("read Patient", "GET", "/fhir/Patient/{pid}", "", {"nurse", "agency", "admin"}),
    ("search Patient", "GET", "/fhir/Patient", "", {"nurse", "admin"}),
    ("search Appointment", "GET", "/fhir/Appointment", "", {"nurse", "admin"}),
    ("read Appointment", "GET", "/fhir/Appointment/{aid}", "", {"nurse", "admin"}),
    ("history Patient", "GET", "/fhir/Patient/{pid}/_history", "", {"nurse", "agency", "admin"}),
    ("search Flag", "GET", "/fhir/Flag", "", {"nurse", "agency", "admin"}),
    ("update Patient", "PUT", "/fhir/Patient/{pid}", "put-patient", {"source", "admin"}),
    ("search AuditEvent", "GET", "/fhir/AuditEvent", "", {"admin"}),
]
# The agency's scopes allow these, but a patient no flag of the agency's concerns is hidden
# (404): tests/notify/test_agency_isolation.py shows what an agency does see.
HIDDEN = {("agency", "read Patient"), ("agency", "history Patient")}


@pytest.fixture
def ids(client: TestClient) -> dict[str, str]:
    pid = created_id(post(client, "Patient", patient()))
    aid = created_id(post(client, "Appointment", appointment(f"Patient/{pid}")))
    return {"pid": pid, "aid": aid}


@pytest.mark.parametrize("role", ["source", "nurse", "agency", "admin"])
def test_role_matrix(
    anonymous: TestClient,
    role_tokens: dict[str, str],
    ids: dict[str, str],
    role: str,
    state: AppState,
) -> None:
    headers = {**FHIR_JSON, "Authorization": f"Bearer {role_tokens[role]}"}
    bodies = {
        "patient": patient(),
        "appointment": appointment(f"Patient/{ids['pid']}"),
        "bundle": {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": patient(), "request": {"method": "POST", "url": "Patient"}}],
        },
        "put-patient": {**patient(), "id": ids["pid"]},
    }
    for label, method, template, body, allowed in MATRIX:
        path = template.format(**ids)
        r = anonymous.request(method, path, headers=headers, json=bodies[body] if body else None)
        if (role, label) in HIDDEN:
            assert r.status_code == 404, (role, label, r.status_code, r.text)
        elif role in allowed:
            assert r.status_code < 300, (role, label, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, label, r.status_code, r.text)
            assert r.json()["issue"][0]["code"] == "forbidden"


def test_no_credentials_is_401_with_a_challenge(anonymous: TestClient) -> None:
    r = anonymous.get("/fhir/Patient")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "path", ["/fhir/metadata", "/health", "/.well-known/smart-configuration", "/login"]
)
def test_open_paths(anonymous: TestClient, path: str) -> None:
    assert anonymous.get(path).status_code == 200


def test_capability_statement_advertises_smart(anonymous: TestClient) -> None:
    rest = anonymous.get("/fhir/metadata").json()["rest"][0]
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = rest["security"]["extension"][0]["extension"]
    assert uris == [{"url": "token", "valueUri": "http://testserver/auth/token"}]


def test_security_headers(anonymous: TestClient) -> None:
    r = anonymous.get("/fhir/metadata")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
