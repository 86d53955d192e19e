"""The audit trail: every create, read and search names its agent, patients and outcome."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.api.audited import CHECK_ON_LOOP_BYTES
from app.runtime import AppState
from tests.auth_helpers import token_for
from tests.factories import FHIR_JSON, appointment, created_id, patient, post


def bearer(token: str) -> dict[str, str]:
    return {**FHIR_JSON, "Authorization": f"Bearer {token}"}


def trail(client: TestClient, **params: str) -> list[dict[str, Any]]:
    r = client.get("/fhir/AuditEvent", params=params)
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", [])]


def reads_trail(event: dict[str, Any]) -> bool:
    """Whether the event records a search of the trail (the tests' searches name `subtype`)."""
    [query] = [base64.b64decode(e["query"]).decode() for e in event["entity"] if "query" in e]
    return "subtype=" in query


def agent_of(event: dict[str, Any]) -> str:
    return event["agent"][0]["who"]["identifier"]["value"]


def test_nurse_read_is_audited_with_the_patient(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    pid = created_id(post(client, "Patient", patient()))
    r = anonymous.get(f"/fhir/Patient/{pid}", headers=bearer(role_tokens["nurse"]))
    assert r.status_code == 200
    events = trail(client, patient=pid, subtype="read")
    assert len(events) == 1
    event = events[0]
    assert event["outcome"] == "0" and event["action"] == "R"
    assert event["type"]["code"] == "rest"
    assert event["agent"][0]["role"] == [{"text": "nurse"}]
    assert {"reference": f"Patient/{pid}"} in [e.get("what") for e in event["entity"]]


def test_search_names_every_patient_it_returned(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    a = created_id(post(client, "Patient", patient()))
    b = created_id(post(client, "Patient", patient()))
    for pid in (a, b):
        post(client, "Appointment", appointment(f"Patient/{pid}"))
    anonymous.get("/fhir/Appointment?status=noshow", headers=bearer(role_tokens["nurse"]))
    for pid in (a, b):
        # (reading the trail is a search naming the children it showed: left out here)
        searches = [e for e in trail(client, patient=pid, subtype="search") if not reads_trail(e)]
        assert len(searches) == 1
        query = [e for e in searches[0]["entity"] if "query" in e]
        assert query, "the search query is kept"


def test_an_agency_read_refused_is_no_disclosure(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    # A patient no flag sent to this agency: the read is refused, and a refusal disclosed
    # nothing (a read that is answered is a disclosure: tests/notify/test_agency_isolation.py).
    pid = created_id(post(client, "Patient", patient()))
    r = anonymous.get(f"/fhir/Patient/{pid}", headers=bearer(role_tokens["agency"]))
    assert r.status_code >= 400
    assert trail(client, patient=pid, type="110106") == []
    [refused] = trail(client, patient=pid, subtype="read")
    assert refused["outcome"] != "0" and refused["type"]["code"] == "rest"
    assert refused["agent"][0]["role"] == [{"text": "agency"}]


def test_writes_and_refusals_are_audited(
    client: TestClient, anonymous: TestClient, state: AppState
) -> None:
    source = bearer(token_for(state, anonymous, role="source"))  # a client of its own
    r = anonymous.post("/fhir/Patient", json=patient(), headers=source)
    pid = r.json()["id"]
    created = trail(client, patient=pid, subtype="create")
    assert [e["outcome"] for e in created] == ["0"]
    source_id = agent_of(created[0])
    anonymous.get(f"/fhir/Patient/{pid}", headers=source)  # a source system reads nothing
    refused = trail(client, agent=source_id, subtype="read")
    assert [(e["outcome"], e["outcomeDesc"][:3]) for e in refused] == [("4", "403")]
    bad = anonymous.post("/fhir/Appointment", json=appointment("Patient/ghost"), headers=source)
    assert bad.status_code == 422
    failed = trail(client, agent=source_id, subtype="create")
    assert sorted(e["outcome"] for e in failed) == ["0", "4"]


def test_a_body_refused_by_its_check_is_audited(
    client: TestClient, anonymous: TestClient, state: AppState
) -> None:
    """A small body is checked on the event loop and a large one on a thread (16 KiB,
    `audited.CHECK_ON_LOOP_BYTES`); a refusal by either is recorded, with nothing stored."""
    source = bearer(token_for(state, anonymous, role="source"))
    small = {**appointment("Patient/ghost"), "colour": "red"}
    large = {**small, "comment": "x" * (CHECK_ON_LOOP_BYTES + 1)}
    for body in (small, large):
        r = anonymous.post("/fhir/Appointment", json=body, headers=source)
        assert r.status_code == 400, r.text
        assert r.json()["issue"][0]["expression"] == ["Appointment.colour"]
    refused = [e for e in trail(client, subtype="create") if e["outcome"] == "4"]
    assert len(refused) == 2
    assert all(e["outcomeDesc"].startswith("400") for e in refused)
    assert client.get("/fhir/Appointment").json().get("total", 0) == 0


def test_audit_search_by_entity_and_date(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    client.get(f"/fhir/Patient/{pid}")
    assert len(trail(client, entity=f"Patient/{pid}", date="ge2026-06-15")) == 2
    assert trail(client, entity=f"Patient/{pid}", date="lt2026-06-15") == []
    r = client.get("/fhir/AuditEvent", params={"colour": "red"})
    assert r.status_code == 400


def test_only_admins_read_the_trail(anonymous: TestClient, role_tokens: dict[str, str]) -> None:
    for role in ("source", "nurse", "agency"):
        r = anonymous.get("/fhir/AuditEvent", headers=bearer(role_tokens[role]))
        assert r.status_code == 403


@pytest.mark.own_connections("statements on a connection of its own")
def test_the_trail_is_append_only(client: TestClient, state: AppState) -> None:
    client.get("/fhir/Patient")
    for statement in ("UPDATE audit_event SET outcome = '8'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError), state.engine.begin() as conn:
            conn.execute(text(statement))


def test_an_audit_search_names_the_children_it_showed(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    assert client.get(f"/fhir/Patient/{pid}").status_code == 200
    shown = trail(client, patient=pid, subtype="read")
    assert shown
    looked = [e for e in trail(client, patient=pid, subtype="search") if reads_trail(e)]
    assert len(looked) == 1, looked
    assert {"reference": f"Patient/{pid}"} in [x.get("what") for x in looked[0]["entity"]]
