"""transaction and batch Bundles."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.runtime import AppState
from tests.dbcheck import count_resources, events
from tests.factories import (
    FHIR_JSON,
    appointment,
    created_id,
    nhs_number,
    patient,
    post,
    related_person,
)


def entry(
    resource: dict[str, Any],
    url: str | None = None,
    full_url: str | None = None,
    method: str = "POST",
    **request: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": resource,
        "request": {"method": method, "url": url or resource["resourceType"], **request},
    }
    if full_url:
        out["fullUrl"] = full_url
    return out


def bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def send(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/fhir", json=body, headers=FHIR_JSON)


def test_transaction_resolves_urn_uuids_in_any_order(client: TestClient, state: AppState) -> None:
    urn = "urn:uuid:0c3b6a4e-8d5f-4a51-9a0e-1b1f2b3c4d5e"
    carer = nhs_number()
    r = send(
        client,
        bundle(
            "transaction",
            entry(appointment(urn, ident="T1")),  # before the Patient it points at
            entry(related_person(urn, carer)),
            entry(patient(), full_url=urn),
        ),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses == ["201 Created"] * 3
    pid = out["entry"][2]["resource"]["id"]
    assert out["entry"][0]["resource"]["participant"][0]["actor"]["reference"] == f"Patient/{pid}"
    assert out["entry"][1]["resource"]["patient"]["reference"] == f"Patient/{pid}"
    assert out["entry"][0]["response"]["location"].startswith("Appointment/")
    assert [e.child_id for e in events(state)] == [pid]


def test_transaction_is_all_or_nothing(client: TestClient, state: AppState) -> None:
    urn = "urn:uuid:11111111-2222-3333-4444-555555555555"
    bad = patient()
    bad["identifier"][0]["value"] = "9434765918"  # fails Modulus 11
    r = send(
        client,
        bundle("transaction", entry(patient(), full_url=urn), entry(appointment(urn)), entry(bad)),
    )
    assert r.status_code == 422
    issue = r.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[2].resource.identifier[0].value"]
    assert count_resources(state) == 0


def test_transaction_with_unknown_reference_stores_nothing(
    client: TestClient, state: AppState
) -> None:
    r = send(
        client,
        bundle("transaction", entry(patient()), entry(appointment("Patient/does-not-exist"))),
    )
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.participant[0].actor.reference"
    ]
    assert count_resources(state) == 0


def test_unresolvable_urn_is_named(client: TestClient) -> None:
    r = send(client, bundle("transaction", entry(appointment("urn:uuid:nowhere"))))
    assert r.status_code == 422
    assert "urn:uuid:nowhere" in r.json()["issue"][0]["diagnostics"]


def test_transaction_if_none_exist_is_honoured(client: TestClient, state: AppState) -> None:
    nhs = nhs_number()
    existing = created_id(post(client, "Patient", patient(nhs)))
    urn = "urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    r = send(
        client,
        bundle(
            "transaction",
            entry(
                {**patient(), "identifier": []},
                full_url=urn,
                ifNoneExist=f"identifier={NHS_NUMBER_SYSTEM}|{nhs}",
            ),
            entry(appointment(urn)),
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["entry"][0]["response"]["status"] == "200 OK"
    assert (
        r.json()["entry"][1]["resource"]["participant"][0]["actor"]["reference"]
        == f"Patient/{existing}"
    )
    assert count_resources(state, "Patient") == 1


def test_duplicate_identifiers_in_one_transaction_are_refused(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    r = send(
        client,
        bundle(
            "transaction",
            entry(appointment(f"Patient/{pid}", ident="D")),
            entry(appointment(f"Patient/{pid}", ident="D")),
        ),
    )
    assert r.status_code == 400
    assert r.json()["issue"][0]["code"] == "duplicate"


def test_batch_reports_each_entry(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient()))
    r = send(
        client,
        bundle(
            "batch",
            entry(appointment(f"Patient/{pid}", "booked", ident="B1")),
            entry(appointment("Patient/missing", ident="B2")),
            entry(appointment(f"Patient/{pid}", "noshow", ident="B1")),
            entry({"resourceType": "Appointment", "status": "bogus"}),
        ),
    )
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "batch-response"
    assert [e["response"]["status"][:3] for e in out["entry"]] == ["201", "422", "200", "400"]
    assert out["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert [e.category for e in events(state)] == ["was-not-brought"]


def test_put_entry_and_type_mismatch(client: TestClient) -> None:
    ok = send(
        client, bundle("transaction", entry({**patient(), "id": "p1"}, "Patient/p1", method="PUT"))
    )
    assert ok.status_code == 200, ok.text
    bad = send(client, bundle("transaction", entry(patient(), "Appointment")))
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.resourceType"]


def test_bundle_must_be_transaction_or_batch(client: TestClient) -> None:
    r = send(client, {"resourceType": "Bundle", "type": "collection"})
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Bundle.type"]


def test_an_element_r4_does_not_know_in_the_envelope_is_refused_with_its_path(
    client: TestClient, state: AppState
) -> None:
    """R4B refuses these; so does the service, naming where, and stores nothing."""
    good = entry(patient())
    cases = [
        ({**bundle("transaction", good), "entries": []}, "Bundle.entries"),
        (bundle("transaction", {**good, "fullurl": "urn:uuid:x"}), "Bundle.entry[0].fullurl"),
        (
            bundle("transaction", {**good, "request": {**good["request"], "if_match": "1"}}),
            "Bundle.entry[0].request.if_match",
        ),
    ]
    before = count_resources(state, "Patient")
    for body, where in cases:
        r = send(client, body)
        assert r.status_code == 400, r.text
        [issue] = r.json()["issue"]
        assert issue["expression"] == [where]
        assert "is not an element of" in issue["diagnostics"]
    assert count_resources(state, "Patient") == before
    # The elements R4B does know pass, `_`-siblings of primitives included.
    fine = {
        **good,
        "fullUrl": "urn:uuid:6e1f3f8a-4c4e-4a55-9d9e-3d2a1b0c9f01",
        "_fullUrl": {"id": "f1"},
    }
    assert send(client, bundle("transaction", fine)).status_code == 200


def test_a_batch_refuses_only_the_entry_with_an_unknown_element(client: TestClient) -> None:
    r = send(client, bundle("batch", entry(patient()), {**entry(patient()), "extra": True}))
    assert r.status_code == 200
    statuses = [e["response"]["status"][:3] for e in r.json()["entry"]]
    assert statuses == ["201", "400"]


def _two_puts(client: TestClient, first: str | None, second: str) -> tuple[Any, dict[str, Any]]:
    """A transaction of two PUTs of one stored (booked) appointment: the answer, and the
    appointment as stored after it. `first` None re-sends it as stored."""
    pid = created_id(post(client, "Patient", patient()))
    booked = appointment(f"Patient/{pid}", "booked")
    aid = created_id(post(client, "Appointment", booked))
    url = f"Appointment/{aid}"
    bodies = [
        appointment(f"Patient/{pid}", status) if status else booked for status in (first, second)
    ]
    puts = [entry(body | {"id": aid}, url, method="PUT") for body in bodies]
    r = send(client, bundle("transaction", *puts))
    return r, client.get(f"/fhir/{url}").json()


def test_two_entries_changing_one_resource_are_refused_naming_both(client: TestClient) -> None:
    """FHIR: a transaction whose entries name one resource fails. Both would plan its next
    version; the answer says so at once, naming the entries (not a retried race's 409)."""
    r, stored = _two_puts(client, "noshow", "fulfilled")
    assert r.status_code == 400, r.text
    issue = r.json()["issue"][0]
    assert issue["code"] == "duplicate"
    assert "Entries 0 and 1" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[1].resource.id"]
    assert (stored["meta"]["versionId"], stored["status"]) == ("1", "booked")


def test_an_entry_that_changes_nothing_beside_one_that_changes_its_resource_is_kept(
    client: TestClient,
) -> None:
    """A re-send of what is stored writes nothing, so it meets no other entry: the
    transaction stores the change."""
    r, stored = _two_puts(client, None, "noshow")
    assert r.status_code == 200, r.text
    assert (stored["meta"]["versionId"], stored["status"]) == ("2", "noshow")
