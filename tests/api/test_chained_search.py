"""Chained search: a child's appointments, flags and observations by the child's NHS number."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from tests.factories import appointment, created_id, nhs_number, patient, post


def _children(client: TestClient) -> dict[str, dict[str, str]]:
    out = {}
    for who in ("ada", "bea"):
        nhs = nhs_number()
        pid = created_id(post(client, "Patient", patient(nhs)))
        ref = {"reference": f"Patient/{pid}"}
        out[who] = {
            "nhs": nhs,
            "Appointment": created_id(
                post(client, "Appointment", appointment(ref["reference"], "fulfilled"))
            ),
            "Flag": created_id(
                post(
                    client,
                    "Flag",
                    {
                        "resourceType": "Flag",
                        "status": "active",
                        "subject": ref,
                        "code": {"text": "known to the school nurse"},
                    },
                )
            ),
            "Observation": created_id(
                post(
                    client,
                    "Observation",
                    {
                        "resourceType": "Observation",
                        "status": "final",
                        "subject": ref,
                        "effectiveDateTime": "2026-05-01",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                    },
                )
            ),
        }
    return out


def _ids(client: TestClient, path: str, **params: str) -> list[str]:
    r = client.get(f"/fhir/{path}", params=params)
    assert r.status_code == 200, r.text
    return [e["resource"]["id"] for e in r.json().get("entry", [])]


@pytest.mark.parametrize(
    ("type_name", "chain"),
    [
        ("Appointment", "patient.identifier"),
        ("Appointment", "actor:Patient.identifier"),
        ("Flag", "subject:Patient.identifier"),
        ("Flag", "patient.identifier"),
        ("Observation", "subject:Patient.identifier"),
        ("Observation", "patient:Patient.identifier"),
    ],
)
def test_chain_finds_the_childs_resources_only(
    client: TestClient, type_name: str, chain: str
) -> None:
    kids = _children(client)
    ada = kids["ada"]
    assert _ids(client, type_name, **{chain: f"{NHS_NUMBER_SYSTEM}|{ada['nhs']}"}) == [
        ada[type_name]
    ]
    # A value without a system matches any system; one of two values (OR) finds both.
    assert _ids(client, type_name, **{chain: ada["nhs"]}) == [ada[type_name]]
    both = f"{ada['nhs']},{NHS_NUMBER_SYSTEM}|{kids['bea']['nhs']}"
    assert sorted(_ids(client, type_name, **{chain: both})) == sorted(
        [ada[type_name], kids["bea"][type_name]]
    )
    assert _ids(client, type_name, **{chain: f"https://other.example/id|{ada['nhs']}"}) == []


@pytest.mark.parametrize(
    ("type_name", "name", "value"),
    [
        ("Flag", "subject.identifier", "x"),  # subject may point at several types
        ("Flag", "subject:Group.identifier", "x"),
        ("Flag", "patient.name", "x"),
        ("Flag", "status.identifier", "x"),
        ("Flag", "patient:RelatedPerson.identifier", "x"),
        ("Appointment", "shoe.size", "9"),
        ("Appointment", "patient.identifier", "|"),
        ("Appointment", "patient.identifier", f"{NHS_NUMBER_SYSTEM}|"),
        ("Patient", "link.identifier", "x"),
    ],
)
def test_unknown_chains_are_refused_by_name(
    client: TestClient, type_name: str, name: str, value: str
) -> None:
    for headers in ({}, {"Prefer": "handling=lenient"}):
        r = client.get(f"/fhir/{type_name}", params={name: value}, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["issue"][0]["expression"] == [name]


def test_capability_statement_states_the_chains(client: TestClient) -> None:
    statement: dict[str, Any] = client.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    docs = {
        (t, p["name"]): p.get("documentation", "")
        for t in ("Appointment", "Flag", "Observation")
        for p in resources[t]["searchParam"]
    }
    assert "patient.identifier=system|value" in docs[("Appointment", "patient")]
    assert "subject:Patient.identifier=system|value" in docs[("Flag", "subject")]
    assert "subject:Patient.identifier=system|value" in docs[("Observation", "subject")]
    assert docs[("Flag", "status")] == ""
