"""SIU messages over a real MLLP connection to a running listener: stored through the same
write path as FHIR, answered AA, and a repeated control id answered the same with no second
write."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.runtime import AppState
from tests.factories import appointment, nhs_number, patient, post
from tests.hl7_messages import ack_code, listening, send, siu, source

pytestmark = pytest.mark.own_connections("a real MLLP listener on its own thread")


def _patient(client: TestClient, nhs: str) -> dict:  # type: ignore[type-arg]
    found = client.get("/fhir/Patient", params={"identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"})
    entries = found.json().get("entry", [])
    assert len(entries) == 1, found.text
    return entries[0]["resource"]


def _appointments(client: TestClient, patient_id: str) -> list[dict]:  # type: ignore[type-arg]
    found = client.get("/fhir/Appointment", params={"patient": patient_id})
    return [e["resource"] for e in found.json().get("entry", [])]


def _active_flag(client: TestClient, patient_id: str) -> bool:
    found = client.get("/fhir/Flag", params={"patient": patient_id, "status": "active"})
    return bool(found.json().get("entry"))


def test_a_booking_then_a_no_show_is_one_appointment_coded_not_brought(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    nhs = nhs_number()
    with listening(state) as listener:
        acks = send(
            listener,
            siu(facility, "S12", "C1", nhs, "A100", birth="20260101"),
            siu(facility, "S26", "C2", nhs, "A100", birth="20260101"),
        )
    assert [ack_code(a) for a in acks] == ["AA", "AA"]
    assert "MSA|AA|C1" in acks[0] and "MSA|AA|C2" in acks[1]
    child = _patient(client, nhs)
    assert child["birthDate"] == "2026-01-01"
    [appt] = _appointments(client, child["id"])
    assert appt["status"] == "noshow"
    assert appt["meta"]["versionId"] == "2"
    assert appt["start"] == "2026-06-01T08:00:00+00:00" or appt["start"].startswith("2026-06-01")
    assert any(t["code"] == "was-not-brought" for t in appt["meta"]["tag"])
    # An infant not brought: the service raised a concern for the child.
    assert _active_flag(client, child["id"])


def test_a_miss_sent_as_siu_raises_as_the_same_miss_sent_as_fhir(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    by_hl7, by_fhir = nhs_number(), nhs_number()
    with listening(state) as listener:
        [answer] = send(listener, siu(facility, "S26", "C1", by_hl7, "B1", birth="20260101"))
    assert ack_code(answer) == "AA"
    made = post(client, "Patient", patient(by_fhir, birth="2026-01-01"))
    fhir_child = made.json()["id"]
    post(client, "Appointment", appointment(f"Patient/{fhir_child}", ident="F1"))
    hl7_child = _patient(client, by_hl7)["id"]
    assert _active_flag(client, hl7_child) == _active_flag(client, fhir_child) is True


def test_a_repeated_control_id_gets_the_same_ack_and_writes_nothing_more(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    nhs = nhs_number()
    message = siu(facility, "S26", "SAME", nhs, "C1")
    with listening(state) as listener:
        first, again = send(listener, message, message)
        changed = send(listener, siu(facility, "S15", "SAME", nhs, "C1"))[0]
    assert again == first
    child = _patient(client, nhs)
    [appt] = _appointments(client, child["id"])
    assert appt["meta"]["versionId"] == "1" and appt["status"] == "noshow"
    history = client.get(f"/fhir/Appointment/{appt['id']}/_history").json()
    assert len(history["entry"]) == 1
    # The same control id for another message: refused, naming MSH-10, nothing changed.
    assert ack_code(changed) == "AR" and "MSH^1^10" in changed
    assert _appointments(client, child["id"])[0]["status"] == "noshow"


def test_a_cancellation_keeps_its_reason_and_a_known_childs_record_is_not_overwritten(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    nhs = nhs_number()
    stored = post(client, "Patient", patient(nhs, birth="2019-05-04", family="Jones")).json()
    with listening(state) as listener:
        [answer] = send(
            listener,
            siu(facility, "S15", "X1", nhs, "D1", reason="pat^Patient cancelled", birth=""),
        )
    assert ack_code(answer) == "AA", answer
    child = _patient(client, nhs)
    assert child["id"] == stored["id"]
    assert child["birthDate"] == "2019-05-04" and child["meta"]["versionId"] == "1"
    [appt] = _appointments(client, child["id"])
    assert appt["status"] == "cancelled"
    assert appt["cancelationReason"]["coding"][0]["code"] == "pat"
    assert any(t["code"] == "carer-cancelled" for t in appt["meta"]["tag"])


def test_the_sending_facility_is_the_author_in_the_audit_trail(
    state: AppState, client: TestClient
) -> None:
    client_id, facility = source(state)
    with listening(state) as listener:
        send(listener, siu(facility, "S12", "AU1", nhs_number(), "E1"))
    trail = client.get("/fhir/AuditEvent", params={"agent": client_id}).json()
    agents = [
        a for e in trail.get("entry", []) for a in e["resource"]["agent"] if a.get("requestor")
    ]
    assert agents and all(a["who"]["display"] == facility for a in agents)
