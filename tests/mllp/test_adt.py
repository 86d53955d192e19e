"""ADT messages over a real MLLP connection: demographics (A28, A31, A08) with their carers
(NK1) and merges (A40), stored as Patient, RelatedPerson and Patient.link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.runtime import AppState
from app.services.intake.hl7_retention import erase_expired
from app.store import hl7_repo
from tests.factories import nhs_number
from tests.hl7_messages import ack_code, adt, err, listening, nk1, pid, send, source

pytestmark = pytest.mark.own_connections("a real MLLP listener on its own thread")


def _one(client: TestClient, type_name: str, **params: str) -> dict:  # type: ignore[type-arg]
    entries = client.get(f"/fhir/{type_name}", params=params).json().get("entry", [])
    assert len(entries) == 1, entries
    return entries[0]["resource"]


def test_a28_then_a08_stores_the_child_and_carers_and_updates_them(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    child, mother = nhs_number(), nhs_number()
    with listening(state) as listener:
        acks = send(
            listener,
            adt(
                facility,
                "A28",
                "P1",
                pid(child, "RX9001"),
                nk1(mother),
                nk1(code="FTH", given="Tom"),
            ),
            # The same carers again, the birth date corrected: one new version, no new carers.
            adt(
                facility,
                "A08",
                "P2",
                pid(child, "RX9001", birth="20200302"),
                nk1(mother),
                nk1(code="FTH", given="Tom"),
            ),
        )
    assert [ack_code(a) for a in acks] == ["AA", "AA"], acks
    patient = _one(client, "Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{child}")
    assert patient["birthDate"] == "2020-03-02" and patient["meta"]["versionId"] == "2"
    assert {"system": NHS_NUMBER_SYSTEM, "value": child} in patient["identifier"]
    assert any(i["value"] == "RX9001" for i in patient["identifier"])
    carers = client.get("/fhir/RelatedPerson", params={"patient": patient["id"]}).json()["entry"]
    codes = sorted(c["resource"]["relationship"][0]["coding"][0]["code"] for c in carers)
    assert codes == ["FTH", "MTH"]
    [mum] = [c["resource"] for c in carers if c["resource"].get("identifier")]
    assert mum["identifier"] == [{"system": NHS_NUMBER_SYSTEM, "value": mother}]


def test_siblings_sharing_a_carer_sent_by_adt_are_one_family(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    mother = nhs_number()
    first, second = nhs_number(), nhs_number()
    with listening(state) as listener:
        send(
            listener,
            adt(facility, "A28", "S1", pid(first), nk1(mother)),
            adt(facility, "A28", "S2", pid(second, family="Jones"), nk1(mother)),
        )
    ids = [
        _one(client, "Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{n}")["id"]
        for n in (first, second)
    ]
    chronology = client.get(f"/api/children/{ids[0]}/family-chronology")
    assert chronology.status_code == 200
    assert ids[1] in chronology.text


def test_a40_links_the_prior_record_to_the_survivor(state: AppState, client: TestClient) -> None:
    _, facility = source(state)
    survivor, prior = nhs_number(), nhs_number()
    with listening(state) as listener:
        acks = send(
            listener,
            adt(facility, "A28", "M1", pid(survivor, "RX1")),
            adt(facility, "A28", "M2", pid(prior, "RX2")),
            adt(facility, "A40", "M3", pid(survivor, "RX1"), "MRG|RX2^^^RX1^MR"),
            adt(facility, "A40", "M4", pid(survivor, "RX1"), "MRG|RX404^^^RX1^MR"),
        )
    assert [ack_code(a) for a in acks] == ["AA", "AA", "AA", "AE"]
    assert err(acks[3]) == "MRG^1^1"
    kept = _one(client, "Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{survivor}")
    merged = _one(client, "Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{prior}")
    assert merged["link"] == [
        {"other": {"reference": f"Patient/{kept['id']}"}, "type": "replaced-by"}
    ]


def test_raw_messages_are_erased_after_retention_and_a_resend_still_gets_its_ack(
    state: AppState,
) -> None:
    client_id, facility = source(state)
    message = adt(facility, "A31", "T1", pid(nhs_number()))
    with listening(state) as listener:
        [first] = send(listener, message)
        later = state.clock() + timedelta(days=91)
        erased = state.write(lambda s: erase_expired(s, later, 90))
        [again] = send(listener, message)
    assert erased >= 1 and again == first
    [kept] = state.read(lambda s: hl7_repo.messages_of_sender(s, client_id))
    assert kept.raw is None and kept.ack.strip("\r") == first
