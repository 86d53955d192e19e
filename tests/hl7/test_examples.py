"""The implementation guide's example messages (tests/hl7/examples/, sources in its README)
sent in order with python-hl7's MLLP client to a running listener: every one answered AA, and
what they describe stored as FHIR: the child (NHS number and hospital number from PID-3), the
carers (NK1), the appointments with the status each event gives, and the merged record."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.hl7.carers import ROLE_CODE
from app.runtime import AppState
from tests.hl7_messages import ack_code, listening, send, source

pytestmark = pytest.mark.own_connections("a real MLLP listener on its own thread")

EXAMPLES = Path(__file__).parent / "examples"
CHILD, MOTHER, FATHER = "9990104018", "9990104026", "9990104034"


def example(name: str, facility: str) -> str:
    """An example as sent: segments ended by <CR>, MSH-4 the facility registered here."""
    segments = (EXAMPLES / name).read_text().strip().splitlines()
    msh = segments[0].split("|")
    msh[3] = facility
    return "\r".join(["|".join(msh), *segments[1:]]) + "\r"


def _search(client: TestClient, type_name: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    found = client.get(f"/fhir/{type_name}", params=params)
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


def test_the_guides_examples_are_answered_aa_and_stored(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    names = sorted(p.name for p in EXAMPLES.glob("*.hl7"))
    with listening(state) as listener:
        acks = send(listener, *(example(n, facility) for n in names))
    answers = {n: ack_code(a) for n, a in zip(names, acks, strict=True)}
    assert answers == dict.fromkeys(names, "AA"), acks

    [child] = _search(client, "Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{CHILD}")
    assert {"system": NHS_NUMBER_SYSTEM, "value": CHILD} in child["identifier"]
    assert any(i["value"] == "RX0000001" for i in child["identifier"])
    assert child["birthDate"] == "2025-01-06" and child["gender"] == "male"
    # A31 moved the family; A08 repeated it: the address is the new one.
    assert child["address"][0]["postalCode"] == "LS6 3AG"

    carers = _search(client, "RelatedPerson", patient=child["id"])
    by_role = {c["relationship"][0]["coding"][0]["code"]: c for c in carers}
    assert set(by_role) == {"MTH", "FTH"}
    assert by_role["MTH"]["relationship"][0]["coding"][0]["system"] == ROLE_CODE
    assert by_role["MTH"]["identifier"] == [{"system": NHS_NUMBER_SYSTEM, "value": MOTHER}]
    assert by_role["FTH"]["identifier"] == [{"system": NHS_NUMBER_SYSTEM, "value": FATHER}]

    appointments = _search(client, "Appointment", patient=child["id"])
    by_filler = {
        i["value"]: a
        for a in appointments
        for i in a["identifier"]
        if i.get("type", {}).get("coding", [{}])[0].get("code") == "FILL"
    }
    assert {k: a["status"] for k, a in by_filler.items()} == {
        "13030": "booked",
        "1234": "noshow",
        "1235": "cancelled",
    }
    # The S12 then the S26 of appointment 1234: one appointment, its second version.
    assert by_filler["1234"]["meta"]["versionId"] == "2"
    assert by_filler["1234"]["start"].startswith("2026-06-11")
    assert any(t["code"] == "was-not-brought" for t in by_filler["1234"]["meta"]["tag"])
    # The sender's own reason text (SCH-6), kept as the sender's code.
    [reason] = by_filler["1235"]["cancelationReason"]["coding"]
    assert reason["code"] == "Conflicting appointment"
    # SCH-11 gave a start and SCH-9/10 a duration (15 MIN): the end is the start + 15 minutes.
    assert by_filler["1234"]["end"].startswith("2026-06-11T10:15:00")

    # A40: the prior record (hospital number only) is replaced by the child's record.
    [prior] = _search(client, "Patient", identifier="RX0053700")
    assert prior["link"] == [
        {"other": {"reference": f"Patient/{child['id']}"}, "type": "replaced-by"}
    ]
