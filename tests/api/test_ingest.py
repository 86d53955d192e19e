"""Posting single resources: create, read back, idempotency by identifier, coding."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.runtime import AppState
from tests.dbcheck import count_resources, count_versions, events
from tests.factories import (
    APPT_SYSTEM,
    FHIR_JSON,
    appointment,
    created_id,
    nhs_number,
    patient,
    post,
)


def test_create_then_read_vread_history(client: TestClient) -> None:
    r = post(client, "Patient", patient(family="Jones"))
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/fhir+json")
    pid = r.json()["id"]
    assert r.headers["location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert r.headers["etag"] == 'W/"1"'
    read = client.get(f"/fhir/Patient/{pid}")
    assert read.status_code == 200
    assert read.json()["name"][0]["family"] == "Jones"
    assert read.json()["meta"]["versionId"] == "1"
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json() == read.json()
    hist = client.get(f"/fhir/Patient/{pid}/_history").json()
    assert hist["type"] == "history" and hist["total"] == 1


def test_appointment_is_coded_wnb_for_a_child(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient(birth="2019-05-01")))
    r = post(client, "Appointment", appointment(f"Patient/{pid}", ident="A1"))
    assert r.status_code == 201
    tag = r.json()["meta"]["tag"]
    assert tag == [
        {
            "system": state.terms.outcome_system,
            "code": "was-not-brought",
            "display": "Was not brought",
        }
    ]
    [event] = events(state)
    assert (event.child_id, event.category, event.is_child) == (pid, "was-not-brought", True)
    assert event.service_code == "dental"
    assert event.resource_id == r.json()["id"]


def test_adult_missed_appointment_is_dna(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient(birth="1990-01-01")))
    post(client, "Appointment", appointment(f"Patient/{pid}"))
    assert [e.category for e in events(state)] == ["did-not-attend"]


def test_same_identifier_updates_instead_of_a_second_event(
    client: TestClient, state: AppState
) -> None:
    pid = created_id(post(client, "Patient", patient()))
    first = post(client, "Appointment", appointment(f"Patient/{pid}", "booked", ident="X-1"))
    second = post(client, "Appointment", appointment(f"Patient/{pid}", "noshow", ident="X-1"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["meta"]["versionId"] == "2"
    assert count_resources(state, "Appointment") == 1
    assert [e.category for e in events(state)] == ["was-not-brought"]
    hist = client.get(f"/fhir/Appointment/{first.json()['id']}/_history").json()
    assert [e["resource"]["status"] for e in hist["entry"]] == ["noshow", "booked"]
    v1 = client.get(f"/fhir/Appointment/{first.json()['id']}/_history/1").json()
    assert v1["status"] == "booked"


def test_identical_repost_is_idempotent(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient()))
    body = appointment(f"Patient/{pid}", ident="same")
    first = post(client, "Appointment", body)
    again = post(client, "Appointment", body)
    assert again.status_code == 200
    assert again.json()["meta"]["versionId"] == "1"
    assert again.json() == first.json()
    assert count_versions(state, "Appointment") == 1


def test_patient_with_same_nhs_number_is_the_same_patient(
    client: TestClient, state: AppState
) -> None:
    nhs = nhs_number()
    first = post(client, "Patient", patient(nhs, family="Old"))
    second = post(client, "Patient", patient(nhs, family="New"))
    assert second.json()["id"] == first.json()["id"]
    assert count_resources(state, "Patient") == 1


def test_appointment_names_child_by_nhs_number(client: TestClient, state: AppState) -> None:
    nhs = nhs_number()
    pid = created_id(post(client, "Patient", patient(nhs)))
    actor = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs}, "type": "Patient"}
    r = post(client, "Appointment", appointment(actor))
    assert r.status_code == 201
    assert r.json()["participant"][0]["actor"]["reference"] == f"Patient/{pid}"
    assert r.json()["participant"][0]["actor"]["identifier"]["value"] == nhs
    assert events(state)[0].child_id == pid


def test_conditional_create(client: TestClient, state: AppState) -> None:
    nhs = nhs_number()
    header = {"If-None-Exist": f"identifier={NHS_NUMBER_SYSTEM}|{nhs}"}
    first = post(client, "Patient", patient(nhs), **header)
    again = post(client, "Patient", {**patient(nhs), "identifier": []}, **header)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert count_resources(state, "Patient") == 1


def test_conditional_create_with_several_matches_is_412(
    client: TestClient, state: AppState
) -> None:
    post(client, "Patient", patient(family="Twin"))
    post(client, "Patient", patient(family="Twin"))
    r = post(client, "Patient", patient(family="Twin"), **{"If-None-Exist": "family=Twin"})
    assert r.status_code == 412
    assert r.json()["issue"][0]["code"] == "multiple-matches"
    assert count_resources(state, "Patient") == 2


def test_put_creates_with_client_id_then_versions(client: TestClient) -> None:
    body = {**patient(), "id": "child-7"}
    created = client.put("/fhir/Patient/child-7", json=body, headers=FHIR_JSON)
    assert created.status_code == 201
    body["gender"] = "female"
    updated = client.put(
        "/fhir/Patient/child-7", json=body, headers={**FHIR_JSON, "If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    stale = client.put(
        "/fhir/Patient/child-7", json=body, headers={**FHIR_JSON, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412


def test_observation_dna_code_is_an_event(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient()))
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "185471009"}]},
        "effectiveDateTime": "2026-05-04T10:00:00Z",
    }
    assert post(client, "Observation", obs).status_code == 201
    [event] = events(state)
    assert (event.category, event.resource_type) == ("no-access", "Observation")


def test_flag_for_a_child_is_stored_and_searchable(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    flag = {
        "resourceType": "Flag",
        "status": "active",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {
            "coding": [
                {"system": "https://wnb.dev/fhir/CodeSystem/safeguarding-status", "code": "cp-plan"}
            ]
        },
        "period": {"start": "2026-01-01"},
    }
    assert post(client, "Flag", flag).status_code == 201
    found = client.get("/fhir/Flag", params={"patient": pid, "status": "active"}).json()
    assert found["total"] == 1


def test_appointment_identifier_system_matters(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient()))
    one = appointment(f"Patient/{pid}", ident="7")
    other = appointment(f"Patient/{pid}", ident="7")
    other["identifier"][0]["system"] = APPT_SYSTEM + "/other"
    post(client, "Appointment", one)
    post(client, "Appointment", other)
    assert count_resources(state, "Appointment") == 2
