"""A small request cannot fan out into a huge write: repeated elements and identifiers are
capped (422 naming the element) and a Bundle holds at most WNB_MAX_BUNDLE_ENTRIES entries
(413 naming Bundle.entry). Nothing is stored. Both databases."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import AppState
from tests.dbcheck import count_resources
from tests.factories import FHIR_JSON, patient


def _refused(r: object, status: int, where: str) -> None:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    [issue] = r.json()["issue"]  # type: ignore[attr-defined]
    assert issue["expression"] == [where], issue


def test_many_given_names_are_422_naming_the_element(client: TestClient, state: AppState) -> None:
    child = patient()
    child["name"] = [{"family": "Smith", "given": [f"g{i}" for i in range(20_000)]}]
    r = client.post("/fhir/Patient", json=child, headers=FHIR_JSON)
    _refused(r, 422, "Patient.name[0].given")
    assert count_resources(state) == 0


def test_many_identifiers_are_422(client: TestClient, state: AppState) -> None:
    child = patient()
    child["identifier"] = [{"system": "urn:x", "value": f"{i}"} for i in range(101)]
    _refused(client.post("/fhir/Patient", json=child, headers=FHIR_JSON), 422, "Patient.identifier")
    assert count_resources(state) == 0


def test_at_the_limits_a_patient_is_stored(client: TestClient) -> None:
    child = patient()
    child["name"] = [{"family": "Smith", "given": [f"g{i}" for i in range(200)]}]
    assert client.post("/fhir/Patient", json=child, headers=FHIR_JSON).status_code == 201


def test_a_bundle_past_its_size_is_413(state: AppState, role_tokens: dict[str, str]) -> None:
    small = dataclasses.replace(
        state, settings=state.settings.model_copy(update={"max_bundle_entries": 3})
    )
    entries = [
        {"resource": patient(), "request": {"method": "POST", "url": "Patient"}} for _ in range(4)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    with TestClient(create_app(state=small)) as http:
        http.headers["Authorization"] = f"Bearer {role_tokens['admin']}"
        _refused(http.post("/fhir", json=bundle, headers=FHIR_JSON), 413, "Bundle.entry")
        assert count_resources(state) == 0
        bundle["entry"] = entries[:3]
        assert http.post("/fhir", json=bundle, headers=FHIR_JSON).status_code == 200
