"""Every version written through FHIR names the client or person who wrote it, in a meta
extension nobody can supply for another. Both databases."""

from __future__ import annotations

import jwt
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import FHIR_JSON, created_id, patient, post

URL = "https://wnb.dev/fhir/StructureDefinition/written-by"


def written_by(resource: dict) -> list[dict]:
    return [e["valueIdentifier"] for e in resource["meta"].get("extension", []) if e["url"] == URL]


def test_each_version_names_its_writer_and_cannot_be_forged(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str], state: AppState
) -> None:
    source = role_tokens["source"]
    source_id = jwt.decode(source, options={"verify_signature": False})["sub"]
    admin_id = jwt.decode(role_tokens["admin"], options={"verify_signature": False})["sub"]
    forged = {"url": URL, "valueIdentifier": {"system": "https://wnb.dev/fhir/Id/client",
                                              "value": "someone-else"}}
    body = {**patient(), "meta": {"extension": [forged]}}
    r = anonymous.post("/fhir/Patient", json=body,
                       headers={**FHIR_JSON, "Authorization": f"Bearer {source}"})
    pid = created_id(r)
    assert written_by(client.get(f"/fhir/Patient/{pid}").json()) == [
        {"system": "https://wnb.dev/fhir/Id/client", "value": source_id}]
    changed = {**body, "id": pid, "birthDate": "2020-03-02"}
    assert client.put(f"/fhir/Patient/{pid}", json=changed, headers=FHIR_JSON).status_code == 200
    history = client.get(f"/fhir/Patient/{pid}/_history").json()["entry"]
    writers = [written_by(e["resource"])[0]["value"] for e in history]
    assert writers == [admin_id, source_id]  # newest first
    assert created_id(post(client, "Patient", patient()))  # an ordinary write still works


def test_a_changed_birth_date_or_nhs_number_shows_in_the_chronology_with_its_writer(
    client: TestClient, role_tokens: dict[str, str]
) -> None:
    admin_id = jwt.decode(role_tokens["admin"], options={"verify_signature": False})["sub"]
    first = patient(birth="2020-03-01")
    pid = created_id(post(client, "Patient", first))
    later = {**patient(birth="2019-03-01"), "id": pid,
             "meta": {"source": "https://gp.example/system"}}
    assert client.put(f"/fhir/Patient/{pid}", json=later, headers=FHIR_JSON).status_code == 200
    r = client.get(f"/api/children/{pid}/chronology")
    assert r.status_code == 200, r.text
    changes = {i["changed"]: i for i in r.json()["items"] if i["kind"] == "identity-change"}
    assert set(changes) == {"birth-date", "nhs-number"}
    birth = changes["birth-date"]
    assert (birth["before"], birth["after"], birth["version"]) == ("2020-03-01", "2019-03-01", 2)
    assert birth["written_by"] == f"client/{admin_id}"
    assert birth["source"] == "https://gp.example/system"
    assert changes["nhs-number"]["after"] == later["identifier"][0]["value"]
