"""Organisations by name (issue 19 item 5): Organization resources are stored and searched by
ODS code; a chronology and a concern name an event's organisation from its Organization, else
from the display the source sent with the code; a code never named stays a code."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.fhir.organisations import ODS_SYSTEM
from tests.api.nurse_helpers import noshow, only_flag
from tests.factories import child, created_id, post


def organization(code: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": ODS_SYSTEM, "value": code}],
        "name": name,
    }


def at(code: str, display: str | None = None) -> dict[str, Any]:
    """An organisation participant naming `code` (and the source's display for it)."""
    actor: dict[str, Any] = {
        "type": "Organization",
        "identifier": {"system": ODS_SYSTEM, "value": code},
    }
    if display:
        actor["display"] = display
    return {"actor": actor, "status": "accepted"}


def events_of(client: TestClient, pid: str) -> list[dict[str, Any]]:
    items = client.get(f"/api/children/{pid}/chronology").json()["items"]
    return [i for i in items if i["kind"] == "event"]


def with_organisation(
    client: TestClient, pid: str, day: str, code: str, display: str | None
) -> str:
    created = noshow(client, pid, day)
    stored = client.get(f"/fhir/Appointment/{created}").json()
    stored["participant"].append(at(code, display))
    assert client.put(f"/fhir/Appointment/{created}", json=stored).status_code == 200
    return created


def test_an_organization_is_stored_updated_and_searched_by_its_ods_code(
    client: TestClient,
) -> None:
    oid = created_id(post(client, "Organization", organization("A81001", "Riverside Surgery")))
    found = client.get("/fhir/Organization", params={"identifier": f"{ODS_SYSTEM}|A81001"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [oid]
    # The same ODS code again is the same Organization: an update, not a second one.
    again = post(client, "Organization", organization("A81001", "Riverside Medical Centre"))
    assert again.status_code in (200, 201) and again.json()["id"] == oid
    assert client.get(f"/fhir/Organization/{oid}").json()["name"] == "Riverside Medical Centre"
    types = [r["type"] for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]]
    assert "Organization" in types


def test_the_chronology_names_organisations_and_a_display_never_overrides_a_name(
    client: TestClient,
) -> None:
    created_id(post(client, "Organization", organization("RTD01", "Royal Victoria Infirmary")))
    ann = child(client, "2021-03-01", "Ann")
    with_organisation(client, ann, "2026-01-10", "RTD01", "RVI")  # the resource's name wins
    with_organisation(client, ann, "2026-02-10", "Q71D2", "Hillside Clinic")  # a display alone
    with_organisation(client, ann, "2026-03-10", "Z99Z9", None)  # never named
    named = {e["organisation"]: e["organisation_name"] for e in events_of(client, ann)}
    assert named == {
        "RTD01": "Royal Victoria Infirmary",
        "Q71D2": "Hillside Clinic",
        "Z99Z9": None,
    }


def test_an_organization_in_a_bundle_names_the_concerns_evidence(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": organization("B82002", "Hillcrest Dental"),
                "request": {"method": "POST", "url": "Organization"},
            }
        ],
    }
    assert client.post("/fhir", json=bundle).status_code == 200
    ann = child(client, "2021-03-01", "Ann")
    for day in ("2026-01-10", "2026-02-10", "2026-03-10"):
        with_organisation(client, ann, day, "B82002", None)
    flag = only_flag(client, ann, "repeat-wnb")
    detail = client.get(f"/api/flags/{flag['flag_id']}").json()
    assert {e["organisation_name"] for e in detail["evidence_details"]} == {"Hillcrest Dental"}
