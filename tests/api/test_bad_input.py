"""Bad input gets a 4xx OperationOutcome naming the problem and where, and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import AppState
from tests.dbcheck import count_resources
from tests.factories import FHIR_JSON, appointment, created_id, patient, post


def outcome(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["diagnostics"] for i in body["issue"])
    return body


def expressions(body: dict[str, Any]) -> list[str]:
    return [e for i in body["issue"] for e in i.get("expression", [])]


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        (b"{not json", 400, None),
        (b"[]", 400, None),
        (b"", 400, None),
        (b'{"resourceType": "Patient"}', 400, "resourceType"),
        (b'{"status": "noshow"}', 400, "resourceType"),
        (
            b'{"resourceType": "Appointment", "status": "noshow", "start": "yesterday", '
            b'"participant": [{"actor": {"reference": "Patient/x"}, "status": "accepted"}]}',
            400,
            "Appointment.start",
        ),
        (
            b'{"resourceType": "Appointment", "status": "lost", "participant": []}',
            400,
            "Appointment.status",
        ),
        (
            b'{"resourceType": "Appointment", "status": "noshow", "start": "2026-01-01T09:00:00Z", '
            b'"end": "2026-01-01T09:10:00Z", "participant": [{"actor": {"reference": "Patient/x"}, '
            b'"status": "maybe"}]}',
            400,
            "Appointment.participant[0].status",
        ),
        (
            b'{"resourceType": "Appointment", "status": "noshow", "participant": [{"actor": '
            b'{"reference": "Patient/x"}, "status": "accepted"}]}',
            400,
            "Appointment.start",
        ),
        (
            b'{"resourceType": "Appointment", "status": "cancelled", "participant": [{"actor": '
            b'{"reference": "Practitioner/x"}, "status": "accepted"}]}',
            422,
            "Appointment.participant",
        ),
        (
            b'{"resourceType": "Appointment", "status": "cancelled", "bogus": 1, '
            b'"participant": []}',
            400,
            "Appointment.bogus",
        ),
    ],
)
def test_malformed_appointments(
    client: TestClient, state: AppState, body: bytes, status: int, expression: str | None
) -> None:
    r = client.post("/fhir/Appointment", content=body, headers=FHIR_JSON)
    out = outcome(r, status)
    if expression:
        assert expression in expressions(out)
    assert count_resources(state) == 0


def test_invalid_nhs_number_is_422(client: TestClient, state: AppState) -> None:
    bad = patient("9434765918")
    out = outcome(post(client, "Patient", bad), 422)
    assert expressions(out) == ["Patient.identifier[0].value"]
    assert "Modulus 11" in out["issue"][0]["diagnostics"]
    assert count_resources(state) == 0


def test_future_birth_date_is_422(client: TestClient) -> None:
    outcome(post(client, "Patient", patient(birth="2030-01-01")), 422)


def test_reference_to_a_missing_patient_is_422(client: TestClient, state: AppState) -> None:
    out = outcome(post(client, "Appointment", appointment("Patient/ghost")), 422)
    assert expressions(out) == ["Appointment.participant[0].actor.reference"]
    assert count_resources(state) == 0


def test_unknown_nhs_number_reference_is_422(client: TestClient) -> None:
    actor = {
        "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"},
        "type": "Patient",
    }
    out = outcome(post(client, "Appointment", appointment(actor)), 422)
    assert expressions(out) == ["Appointment.participant[0].actor.identifier.value"]


def test_not_json_content_type_is_415(client: TestClient) -> None:
    r = client.post("/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "text/xml"})
    assert expressions(outcome(r, 415)) == ["Content-Type"]


def test_body_over_the_limit_is_413_before_reading(client: TestClient, state: AppState) -> None:
    state.settings.max_body_bytes = 1000
    try:
        with TestClient(create_app(state=state), headers=client.headers) as small:
            big = patient(text={"status": "generated", "div": "<div>" + "x" * 2000 + "</div>"})
            outcome(post(small, "Patient", big), 413)

            def chunks() -> Any:  # no Content-Length: the limit holds while streaming
                for _ in range(10):
                    yield b" " * 500

            r = small.post("/fhir/Patient", content=chunks(), headers=FHIR_JSON)
            outcome(r, 413)
    finally:
        state.settings.max_body_bytes = 10 * 1024 * 1024
    assert count_resources(state) == 0


def test_unknown_ids_and_versions_are_404(client: TestClient) -> None:
    outcome(client.get("/fhir/Patient/nobody"), 404)
    pid = created_id(post(client, "Patient", patient()))
    outcome(client.get(f"/fhir/Patient/{pid}/_history/9"), 404)
    outcome(client.get(f"/fhir/Patient/{pid}/_history/x"), 404)
    outcome(client.get("/fhir/Patient/nobody/_history"), 404)


def test_unknown_route_and_method(client: TestClient) -> None:
    outcome(client.get("/fhir/Practitioner/1"), 404)
    outcome(client.delete("/fhir/Patient/1"), 405)


def test_put_id_must_match_url(client: TestClient) -> None:
    r = client.put("/fhir/Patient/a", json={**patient(), "id": "b"}, headers=FHIR_JSON)
    assert expressions(outcome(r, 400)) == ["Patient.id"]


def test_bad_if_match(client: TestClient) -> None:
    r = client.put(
        "/fhir/Patient/a", json={**patient(), "id": "a"}, headers={**FHIR_JSON, "If-Match": "three"}
    )
    outcome(r, 400)


def test_if_none_exist_with_unknown_parameter(client: TestClient) -> None:
    r = post(client, "Patient", patient(), **{"If-None-Exist": "shoe-size=9"})
    outcome(r, 400)


def test_identifier_owned_by_another_resource_is_409(client: TestClient) -> None:
    first = patient()
    created_id(post(client, "Patient", first))
    r = client.put("/fhir/Patient/other", json={**first, "id": "other"}, headers=FHIR_JSON)
    outcome(r, 409)


@pytest.mark.parametrize("path", ["/fhir/Patient/a%00b", "/fhir/Patient?family=a%00b",
                                  "/fhir/Patient?birthdate=9999-12", "/fhir/AuditEvent?date=9999",
                                  "/fhir/Patient/a%00b/_history/1"])
def test_odd_but_harmless_urls_are_never_500(client: TestClient, path: str) -> None:
    assert client.get(path).status_code < 500


def test_nul_in_a_body_is_400(client: TestClient, state: AppState) -> None:
    body = b'{"resourceType": "Patient", "name": [{"family": "a\\u0000b"}]}'
    outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)
    assert count_resources(state) == 0


def test_nul_in_forms_is_never_500(anonymous: TestClient) -> None:
    r = anonymous.post("/auth/token", data={"grant_type": "client_credentials",
                                            "client_id": "a\x00b", "client_secret": "x"})
    assert r.status_code < 500
