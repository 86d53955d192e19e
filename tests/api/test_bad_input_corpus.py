"""Every case of the corpus gets a 4xx OperationOutcome saying where the problem is, and no
row of any table (bar the audit trail, which records the refusal) changes. Both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.api.bad_input_cases import PATIENT_ID, Case, all_cases
from tests.dbcheck import database_digest
from tests.factories import FHIR_JSON, patient

CASES = all_cases()


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 200
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_a_4xx_outcome_and_changes_nothing(
    client: TestClient, state: AppState, case: Case
) -> None:
    stored = client.put(f"/fhir/Patient/{PATIENT_ID}", json={**patient(), "id": PATIENT_ID},
                        headers=FHIR_JSON)
    assert stored.status_code == 201, stored.text
    before = database_digest(state)
    headers = {**FHIR_JSON, **case.headers}
    r = client.request(case.method, case.path, content=case.body,
                       headers={k: v.encode() for k, v in headers.items()})
    assert r.status_code in case.status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    expressions = [e for i in body["issue"] for e in i.get("expression", [])]
    assert any(case.expression in e for e in expressions), expressions
    assert all(i["diagnostics"] for i in body["issue"])
    assert database_digest(state) == before
