"""What the audit trail used to miss: sign-in and sign-out, 401s, failed token requests, 403
entries inside a batch, refusals answered before the body was read. And what it used to get
wrong: refusals typed as disclosures, NHS numbers copied from error messages. Both databases."""

from __future__ import annotations

import re
import uuid
from typing import Any

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.main import create_app
from app.runtime import AppState
from app.services.access.users import add_user
from tests.auth_helpers import token_for
from tests.conftest import PASSWORD
from tests.factories import FHIR_JSON, appointment, created_id, nhs_number, patient, post


def trail(client: TestClient, **params: str) -> list[dict[str, Any]]:
    r = client.get("/fhir/AuditEvent", params={"_count": "500", **params})
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", [])]


def client_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sub"]


def refusals(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["outcome"] != "0"]


def test_sign_in_failure_success_and_sign_out_are_recorded(
    client: TestClient, anonymous: TestClient, state: AppState
) -> None:
    name = f"nurse-{uuid.uuid4().hex[:8]}"
    state.write(lambda s: add_user(s, name, PASSWORD, "nurse", state.clock()))

    def sign_in(password: str) -> Any:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', anonymous.get("/login").text)
        assert csrf
        return anonymous.post("/login", follow_redirects=False, data={
            "username": name, "password": password, "csrf_token": csrf.group(1)})

    assert sign_in("wrong password!").status_code == 401
    assert sign_in(PASSWORD).status_code == 303
    logins = trail(client, agent=name, subtype="login")
    assert sorted(e["outcome"] for e in logins) == ["0", "4"]
    page = anonymous.get("/").text  # the signed-in page's sign-out form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf, page[:300]
    anonymous.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert [e["outcome"] for e in trail(client, agent=name, subtype="logout")] == ["0"]


def test_every_401_is_recorded(client: TestClient, anonymous: TestClient) -> None:
    before = len(trail(client, agent="(unauthenticated)", subtype="authenticate"))
    r = anonymous.get("/fhir/Patient", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    after = trail(client, agent="(unauthenticated)", subtype="authenticate")
    assert len(after) == before + 1 or before == 500  # (the page holds at most 500)


def test_a_failed_token_request_names_the_client_never_the_secret(
    client: TestClient, anonymous: TestClient
) -> None:
    ghost, secret = f"ghost-{uuid.uuid4().hex[:8]}", f"secret-{uuid.uuid4().hex}"
    r = anonymous.post("/auth/token", data={"grant_type": "client_credentials"},
                       auth=(ghost, secret))
    assert r.status_code == 401
    [event] = trail(client, agent=ghost, subtype="token")
    assert event["outcome"] == "4" and secret not in str(event)


def test_forbidden_batch_entries_and_refusals_before_the_body_are_recorded(
    client: TestClient, state: AppState
) -> None:
    with TestClient(create_app(state=state)) as http:
        token = token_for(state, http, scopes="system/Patient.c")
        who = client_of(token)
        headers = {**FHIR_JSON, "Authorization": f"Bearer {token}"}
        batch = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "POST", "url": "Flag"},
             "resource": {"resourceType": "Flag", "status": "active", "code": {"text": "x"},
                          "subject": {"reference": "Patient/x"}}}]}
        assert http.post("/fhir", json=batch, headers=headers).status_code == 200
        not_json = {"Content-Type": "text/xml", "Authorization": f"Bearer {token}"}
        assert http.post("/fhir/Patient", content=b"<x/>", headers=not_json).status_code == 415
    batch_refusals = refusals(trail(client, agent=who, subtype="transaction"))
    assert [e["outcomeDesc"][:3] for e in batch_refusals] == ["403"]
    assert [e["outcomeDesc"][:3] for e in refusals(trail(client, agent=who, subtype="create"))] \
        == ["415"]


def test_an_agency_refusal_is_not_a_disclosure(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    agency = role_tokens["agency"]
    r = anonymous.get("/fhir/Appointment",
                      headers={"Authorization": f"Bearer {agency}"})
    assert r.status_code == 403
    refused = refusals(trail(client, agent=client_of(agency), subtype="search"))
    assert refused and {e["type"]["code"] for e in refused} == {"rest"}


def test_refusal_text_never_copies_an_nhs_number(client: TestClient, state: AppState) -> None:
    nhs = nhs_number()
    twice = patient(nhs)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Patient"}, "resource": twice},
        {"request": {"method": "POST", "url": "Patient"}, "resource": twice}]}
    r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 400 and nhs in r.text  # the caller is told; the trail is not
    with state.reader() as session:
        found = session.execute(
            text("SELECT count(*) FROM audit_event WHERE outcome_desc LIKE :n"), {"n": f"%{nhs}%"}
        ).scalar()
    assert found == 0


def test_a_vread_names_the_patient_of_that_version(client: TestClient) -> None:
    first = created_id(post(client, "Patient", patient()))
    second = created_id(post(client, "Patient", patient()))
    aid = created_id(post(client, "Appointment", appointment(f"Patient/{first}")))
    moved = {**appointment(f"Patient/{second}"), "id": aid}
    assert client.put(f"/fhir/Appointment/{aid}", json=moved, headers=FHIR_JSON).status_code == 200
    assert client.get(f"/fhir/Appointment/{aid}/_history/1").status_code == 200
    [event] = trail(client, entity=f"Appointment/{aid}", subtype="vread")
    named = {e["what"]["reference"] for e in event["entity"] if "what" in e}
    assert f"Patient/{first}" in named and f"Patient/{second}" not in named
