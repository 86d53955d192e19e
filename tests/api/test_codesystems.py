"""GET /fhir/CodeSystem: the service's own code systems, for any signed-in caller."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.runtime import AppState
from app.store.models import AuditRecord

IDS = ["outcome-category", "safeguarding-status", "wnb-rule", "wnb-flag-code"]


def audit_rows(state: AppState) -> int:
    return state.read(lambda s: s.scalar(select(func.count()).select_from(AuditRecord))) or 0


@pytest.mark.parametrize("rid", IDS)
def test_read_each(client: TestClient, state: AppState, rid: str) -> None:
    r = client.get(f"/fhir/CodeSystem/{rid}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert (body["resourceType"], body["id"], body["status"]) == ("CodeSystem", rid, "active")
    assert body["url"] == f"{state.terms.canonical_base}/CodeSystem/{rid}"
    assert body["content"] == "complete" and body["caseSensitive"] is True


def test_rule_system_lists_the_rules_in_force(client: TestClient, state: AppState) -> None:
    assert state.rules is not None
    body = client.get("/fhir/CodeSystem/wnb-rule").json()
    assert body["url"] == state.terms.rule_system
    assert [c["code"] for c in body["concept"]] == [r.id for r in state.rules.rules]
    [infant] = [c for c in body["concept"] if c["code"] == "infant-wnb"]
    described = state.rules.rule("infant-wnb").description
    assert infant["display"] == infant["definition"] == " ".join(described.split())
    assert infant["display"].startswith("A baby under one year old was not brought")
    assert {"code": "priority", "valueCode": "high"} in infant["property"]


def test_outcome_categories_and_statuses(client: TestClient, state: AppState) -> None:
    outcome = client.get("/fhir/CodeSystem/outcome-category").json()
    assert outcome["url"] == state.terms.outcome_system
    displays = {c["code"]: c["display"] for c in outcome["concept"]}
    assert displays == {cat: code.display for cat, code in state.terms.written_codes.items()}
    status = client.get("/fhir/CodeSystem/safeguarding-status").json()
    assert status["url"] == state.terms.status_system
    assert [c["code"] for c in status["concept"]] == ["cp-plan", "looked-after", "child-in-need"]


def test_search_by_url(client: TestClient, state: AppState) -> None:
    r = client.get("/fhir/CodeSystem", params={"url": state.terms.status_system})
    assert r.status_code == 200
    bundle = r.json()
    assert (bundle["resourceType"], bundle["type"], bundle["total"]) == ("Bundle", "searchset", 1)
    [entry] = bundle["entry"]
    assert entry["fullUrl"] == "http://testserver/fhir/CodeSystem/safeguarding-status"
    assert entry["resource"]["url"] == state.terms.status_system
    everything = client.get("/fhir/CodeSystem").json()
    assert [e["resource"]["id"] for e in everything["entry"]] == IDS
    none = client.get("/fhir/CodeSystem", params={"url": "http://loinc.org"}).json()
    assert (none["total"], none["entry"]) == (0, [])


def test_unknown_id_and_parameter(client: TestClient) -> None:
    missing = client.get("/fhir/CodeSystem/loinc")
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"
    bad = client.get("/fhir/CodeSystem", params={"system": "x"})
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["system"]


@pytest.mark.parametrize("role", ["source", "nurse", "agency", "admin"])
def test_any_signed_in_caller_reads_without_an_audit_record(
    anonymous: TestClient, role_tokens: dict[str, str], state: AppState, role: str
) -> None:
    before = audit_rows(state)
    headers = {"Authorization": f"Bearer {role_tokens[role]}"}
    assert anonymous.get("/fhir/CodeSystem/wnb-rule", headers=headers).status_code == 200
    assert anonymous.get("/fhir/CodeSystem", headers=headers).status_code == 200
    # Terminology, no patient data: nothing to record.
    assert audit_rows(state) == before


def test_anonymous_is_401(anonymous: TestClient) -> None:
    assert anonymous.get("/fhir/CodeSystem/wnb-rule").status_code == 401
    assert anonymous.get("/fhir/CodeSystem").status_code == 401


def test_capability_statement_lists_code_system(anonymous: TestClient) -> None:
    rest = anonymous.get("/fhir/metadata").json()["rest"][0]
    [code_system] = [r for r in rest["resource"] if r["type"] == "CodeSystem"]
    assert {i["code"] for i in code_system["interaction"]} == {"read", "search-type"}
    assert {"name": "url", "type": "uri"} in code_system["searchParam"]


def test_the_concern_code_is_published(client: TestClient) -> None:
    """Every Flag the service raises carries this one code: a receiver can look it up."""
    r = client.get("/fhir/CodeSystem/wnb-flag-code")
    assert r.status_code == 200, r.text
    system = r.json()
    assert system["url"] == "https://wnb.dev/fhir/CodeSystem/wnb-flag-code"
    assert [c["code"] for c in system["concept"]] == ["was-not-brought-concern"]
