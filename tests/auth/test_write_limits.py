"""Writes that used to reach further than the caller's scopes: a conditional create that
handed back a record the caller may not read, a PUT that created with update scope only, a
client silencing a rule-raised Flag, a nurse writing FHIR. Both databases."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import AppState
from tests.api.nurse_helpers import STATUS_SYSTEM, noshow, only_flag
from tests.auth_helpers import token_for
from tests.conftest import FIXED_NOW
from tests.factories import FHIR_JSON, child, created_id, nhs_number, patient, post


def bearer(token: str) -> dict[str, str]:
    return {**FHIR_JSON, "Authorization": f"Bearer {token}"}


def test_conditional_create_match_has_no_body_without_read_and_search(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    pid = created_id(post(client, "Patient", patient(family="Jones", birth="2019-02-03")))
    probe = patient()  # another identifier: only the condition can match
    for query in (f"_id={pid}", "family=Jones"):
        r = anonymous.post(
            "/fhir/Patient",
            json=probe,
            headers={**bearer(role_tokens["source"]), "If-None-Exist": query},
        )
        assert r.status_code == 200, r.text
        assert r.content == b"" and "Jones" not in r.text
        assert r.headers["location"].endswith(f"/Patient/{pid}/_history/1")
        assert r.headers["etag"] == 'W/"1"'
    # A caller who could have searched for it gets it back, as FHIR says.
    mine = {**FHIR_JSON, "If-None-Exist": "family=Jones"}
    r = client.post("/fhir/Patient", json=probe, headers=mine)
    assert r.status_code == 200 and r.json()["id"] == pid


def test_conditional_create_in_a_batch_entry_has_no_resource(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    pid = created_id(post(client, "Patient", patient(family="Jones")))
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"_id={pid}"},
                "resource": patient(),
            }
        ],
    }
    r = anonymous.post("/fhir", json=bundle, headers=bearer(role_tokens["source"]))
    assert r.status_code == 200, r.text
    [entry] = r.json()["entry"]
    assert "resource" not in entry and entry["response"]["location"].startswith(f"Patient/{pid}")


def test_several_matches_do_not_say_how_many(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    for _ in range(3):
        created_id(post(client, "Patient", patient(family="Twin")))
    r = anonymous.post(
        "/fhir/Patient",
        json=patient(),
        headers={**bearer(role_tokens["source"]), "If-None-Exist": "family=Twin"},
    )
    assert r.status_code == 412
    assert not any(c.isdigit() for c in r.json()["issue"][0]["diagnostics"])


def test_the_search_behind_a_conditional_create_is_audited(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    pid = created_id(post(client, "Patient", patient()))
    anonymous.post(
        "/fhir/Patient",
        json=patient(),
        headers={**bearer(role_tokens["source"]), "If-None-Exist": f"_id={pid}"},
    )
    events = client.get("/fhir/AuditEvent", params={"patient": pid, "subtype": "create"}).json()
    queries = [
        base64.b64decode(e["query"]).decode()
        for event in events.get("entry", [])
        for e in event["resource"]["entity"]
        if "query" in e
    ]
    assert f"If-None-Exist: _id={pid}" in queries


def test_put_of_a_new_id_needs_create_scope(client: TestClient, state: AppState) -> None:
    with TestClient(create_app(state=state)) as http:
        update_only = token_for(state, http, scopes="system/Patient.u")
        r = http.put(
            "/fhir/Patient/brand-new",
            json={**patient(), "id": "brand-new"},
            headers=bearer(update_only),
        )
        assert r.status_code == 403, r.text
        assert r.json()["issue"][0]["expression"] == ["Patient.id"]
        assert client.get("/fhir/Patient/brand-new").status_code == 404
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "request": {"method": "PUT", "url": "Patient/brand-new"},
                    "resource": {**patient(), "id": "brand-new"},
                }
            ],
        }
        assert http.post("/fhir", json=bundle, headers=bearer(update_only)).status_code == 403
        assert client.get("/fhir/Patient/brand-new").status_code == 404
        # An existing resource is still updated with update scope alone.
        created = client.put(
            "/fhir/Patient/known", json={**patient(), "id": "known"}, headers=FHIR_JSON
        )
        assert created.status_code == 201
        again = http.put(
            "/fhir/Patient/known", json={**patient(), "id": "known"}, headers=bearer(update_only)
        )
        assert again.status_code == 200, again.text


def _rule_flag(client: TestClient) -> tuple[str, dict[str, Any]]:
    baby = child(client, "2026-01-05", "Bea")  # under one: infant-wnb fires on one no-show
    noshow(client, baby, "2026-06-01")
    flag_id = only_flag(client, baby, "infant-wnb")["flag_id"]
    return flag_id, client.get(f"/fhir/Flag/{flag_id}").json()


def test_rule_raised_flags_change_only_through_the_review_api(
    client: TestClient, state: AppState
) -> None:
    flag_id, flag = _rule_flag(client)
    silenced = {**flag, "status": "inactive"}
    r = client.put(f"/fhir/Flag/{flag_id}", json=silenced, headers=FHIR_JSON)
    assert r.status_code == 409, r.text
    assert f"/api/flags/{flag_id}/review" in r.json()["issue"][0]["diagnostics"]
    recoded = {**silenced, "code": {"coding": [{"system": "https://x.example", "code": "y"}]}}
    assert client.put(f"/fhir/Flag/{flag_id}", json=recoded, headers=FHIR_JSON).status_code == 409
    forged = {k: v for k, v in flag.items() if k not in ("id", "meta")}
    assert post(client, "Flag", forged).status_code == 409
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "PUT", "url": f"Flag/{flag_id}"}, "resource": silenced}],
    }
    assert client.post("/fhir", json=bundle, headers=FHIR_JSON).status_code == 409
    assert client.get(f"/fhir/Flag/{flag_id}").json()["meta"]["versionId"] == "1"
    # The review API still changes it, through the service's own write path.
    state.clock = lambda: FIXED_NOW + timedelta(minutes=1)
    r = client.post(
        f"/api/flags/{flag_id}/review",
        json={"action": "close", "outcome": "no-further-action", "note": "seen"},
    )
    assert r.status_code == 200, r.text
    closed = client.get(f"/fhir/Flag/{flag_id}").json()
    assert closed["status"] == "inactive" and closed["meta"]["versionId"] == "2"


def test_nurses_write_no_fhir_but_review_flags(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    nurse = bearer(role_tokens["nurse"])
    pid = created_id(post(client, "Patient", patient(nhs_number())))
    status = {
        "resourceType": "Flag",
        "status": "active",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": STATUS_SYSTEM, "code": "cp-plan"}]},
        "period": {"start": "2026-01-01"},
    }
    assert anonymous.post("/fhir/Flag", json=status, headers=nurse).status_code == 403
    assert (
        anonymous.put(
            "/fhir/Flag/nurse-made", json={**status, "id": "nurse-made"}, headers=nurse
        ).status_code
        == 403
    )
    flag_id, _ = _rule_flag(client)
    r = anonymous.post(
        f"/api/flags/{flag_id}/review", json={"action": "acknowledge"}, headers=nurse
    )
    assert r.status_code == 200, r.text
