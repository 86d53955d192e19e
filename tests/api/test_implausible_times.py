"""Issue 8 item 9 at the API, on both databases: impossible times are refused with a 422
naming the element, and nothing is stored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import FHIR_JSON, appointment, created_id, patient, post


@pytest.mark.parametrize(
    ("start", "end", "where"),
    [
        ("9999-01-01T09:00:00Z", "9999-01-01T10:00:00Z", "Appointment.start"),
        ("0001-01-01T09:00:00Z", "0001-01-01T10:00:00Z", "Appointment.start"),
        ("2026-06-01T10:00:00Z", "2026-06-01T09:00:00Z", "Appointment.end"),
    ],
)
def test_impossible_times_get_422_with_expression(
    client: TestClient, start: str, end: str, where: str
) -> None:
    pid = created_id(post(client, "Patient", patient()))
    body = appointment(f"Patient/{pid}", "noshow", start)
    body["end"] = end
    r = post(client, "Appointment", body)
    assert r.status_code == 422, r.text
    issues = r.json()["issue"]
    assert where in [e for i in issues for e in i.get("expression", [])]
    assert client.get("/fhir/Appointment", params={"patient": pid}).json().get("total", 0) == 0


def test_in_a_bundle_the_expression_names_the_entry(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    body = appointment(f"Patient/{pid}", "noshow", "2030-01-01T09:00:00Z")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": body, "request": {"method": "POST", "url": "Appointment"}}],
    }
    r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.start"]
