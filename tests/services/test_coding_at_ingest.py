"""Issue 8 at ingest, on both databases: joint appointments, Observation status, service keys,
one miss from two systems, UK dates, partial birth dates, cancellations with no reason."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import AppState
from app.services.concerns.backtest import run as run_backtest
from app.store.models import CodedEvent
from tests.api.nurse_helpers import booked_by, only_flag
from tests.conftest import FIXED_NOW
from tests.factories import appointment, child, created_id, patient, post
from tests.services.test_rules_at_ingest import evidence, flags
from tests.services.test_time_based_rules import due_checks_at

SNOMED = "http://snomed.info/sct"
CHIS = "https://chis.example/service-type"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"


def events(state: AppState, resource_id: str) -> list[CodedEvent]:
    return list(
        state.read(
            lambda s: s.scalars(
                select(CodedEvent)
                .where(CodedEvent.resource_id == resource_id)
                .order_by(CodedEvent.child_id)
            ).all()
        )
    )


def joint(*pids: str, status: str = "noshow", start: str = "2026-06-10T09:00:00Z") -> dict:
    body = appointment(f"Patient/{pids[0]}", status, start, service="health-visiting")
    body["participant"] = [
        {"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"} for pid in pids
    ]
    return body


def test_mother_and_baby_each_get_an_event(client: TestClient, state: AppState) -> None:
    mother = child(client, birth="1994-02-02")
    baby = child(client, birth="2026-04-20")
    appt = created_id(post(client, "Appointment", joint(mother, baby)))
    coded = {e.child_id: (e.category, e.is_child) for e in events(state, appt)}
    assert coded == {mother: ("did-not-attend", False), baby: ("was-not-brought", True)}
    assert "infant-wnb" in flags(client, baby)
    assert flags(client, mother) == {}
    # Both outcomes are tagged on the stored appointment.
    tags = {t["code"] for t in client.get(f"/fhir/Appointment/{appt}").json()["meta"]["tag"]}
    assert tags == {"did-not-attend", "was-not-brought"}


def test_a_babys_flag_does_not_disclose_the_mothers_outcome(client: TestClient) -> None:
    mother = child(client, birth="1994-02-02")
    baby = child(client, birth="2026-04-20")
    appt = created_id(post(client, "Appointment", joint(mother, baby)))
    flag = only_flag(client, baby, "infant-wnb")["flag_id"]
    detail = client.get(f"/api/flags/{flag}").json()
    shown = [(e["patient_id"], e["category"]) for e in detail["evidence_details"]]
    assert shown == [(baby, "was-not-brought")]
    assert detail["evidence"] == [f"Appointment/{appt}"]


def test_each_twin_counts(client: TestClient, state: AppState) -> None:
    one, two = child(client, birth="2026-04-20"), child(client, birth="2026-04-20")
    appt = created_id(post(client, "Appointment", joint(one, two)))
    assert {e.child_id for e in events(state, appt)} == {one, two}
    assert "infant-wnb" in flags(client, one) and "infant-wnb" in flags(client, two)
    # Recoding the appointment recodes both, and only both.
    client.put(
        f"/fhir/Appointment/{appt}",
        json={**joint(one, two, status="fulfilled"), "id": appt},
        headers={"Content-Type": "application/fhir+json"},
    )
    assert [e.category for e in events(state, appt)] == ["attended", "attended"]


def dna(pid: str, status: str = "final", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": SNOMED, "code": "924331000000103"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-06-10T09:00:00Z",
        **extra,
    }


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_a_void_observation_never_counts(client: TestClient, state: AppState, status: str) -> None:
    pid = child(client, birth="2026-01-01")
    obs = created_id(post(client, "Observation", dna(pid)))
    assert [e.category for e in events(state, obs)] == ["was-not-brought"]
    r = client.put(
        f"/fhir/Observation/{obs}",
        json={**dna(pid, status), "id": obs},
        headers={"Content-Type": "application/fhir+json"},
    )
    assert r.status_code == 200, r.text
    assert events(state, obs) == []
    new = created_id(post(client, "Observation", dna(pid, status)))
    assert events(state, new) == []


def test_two_dna_codes_from_one_practice_are_one_service(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    practice = {"performer": [{"reference": "Organization/p1", "type": "Organization"}]}
    first = created_id(post(client, "Observation", dna(pid, **practice)))
    other_code = {
        **dna(pid, **practice),
        "code": {"coding": [{"system": SNOMED, "code": "281399006"}]},
        "effectiveDateTime": "2026-06-12T09:00:00Z",
    }
    second = created_id(post(client, "Observation", other_code))
    keys = {e.service_key for e in events(state, first) + events(state, second)}
    assert keys == {"org|organization/p1"}
    assert "multi-service" not in flags(client, pid)
    assert "repeat-wnb" in flags(client, pid)


def test_a_miss_by_service_type_is_rebooked_by_an_equivalent_specialty(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    post(client, "Appointment", appointment(f"Patient/{pid}", "noshow", "2026-06-13T09:00:00Z"))
    rebook = appointment(f"Patient/{pid}", "booked", "2026-06-20T09:00:00Z")
    del rebook["serviceType"]
    rebook["specialty"] = [{"coding": [{"system": CHIS, "code": "DEN"}]}]
    created_id(post(client, "Appointment", rebook))
    assert due_checks_at(state, 20) == 1
    assert "not-rebooked" not in flags(client, pid)


def test_one_miss_from_two_systems_is_one_event(client: TestClient, state: AppState) -> None:
    baby = child(client, birth="2026-03-01")
    gp = appointment(f"Patient/{baby}", "noshow", "2026-06-10T09:00:00Z", ident="GP-1")
    chis = appointment(f"Patient/{baby}", "noshow", "2026-06-10T09:30:00Z", ident="CHIS-9")
    chis["identifier"][0]["system"] = "https://chis.example/appointments"
    chis["serviceType"] = [{"coding": [{"system": CHIS, "code": "DEN"}]}]
    first = created_id(post(client, "Appointment", gp))
    second = created_id(post(client, "Appointment", chis))
    found = flags(client, baby)
    assert "repeat-wnb" not in found
    assert evidence(found["infant-wnb"]) == {f"Appointment/{first}", f"Appointment/{second}"}
    # An hour and a minute later is another appointment.
    third = appointment(f"Patient/{baby}", "noshow", "2026-06-10T10:31:00Z", ident="GP-2")
    created_id(post(client, "Appointment", third))
    assert "repeat-wnb" in flags(client, baby)


@pytest.mark.parametrize(
    ("start", "category"),
    [
        # 18th birthday on 1 June 2026.
        ("2026-05-31T23:30:00Z", "did-not-attend"),  # 00:30 BST on the birthday
        ("2026-05-31T22:30:00Z", "was-not-brought"),  # 23:30 BST the day before
    ],
)
def test_adult_on_the_europe_london_date(
    client: TestClient, state: AppState, start: str, category: str
) -> None:
    pid = child(client, birth="2008-06-01")
    body = appointment(f"Patient/{pid}", "noshow", start)
    appt = created_id(post(client, "Appointment", body))
    assert [e.category for e in events(state, appt)] == [category]


@pytest.mark.parametrize(
    ("birth", "start", "infant"),
    [
        ("2025-03-01", "2026-02-28T09:00:00Z", True),
        ("2025-03-01", "2026-03-01T09:00:00Z", False),
        ("2024-02-29", "2025-02-28T09:00:00Z", True),  # no 29 Feb: birthday on 1 March
        ("2024-02-29", "2025-03-01T09:00:00Z", False),
        ("2025-06-10", "2026-06-09T22:30:00Z", True),  # 23:30 BST the day before
        ("2025-06-10", "2026-06-09T23:30:00Z", False),  # 00:30 BST on the birthday
    ],
)
def test_infant_until_the_first_birthday(
    client: TestClient, birth: str, start: str, infant: bool
) -> None:
    pid = child(client, birth=birth)
    post(client, "Appointment", appointment(f"Patient/{pid}", "noshow", start))
    assert ("infant-wnb" in flags(client, pid)) == infant


@pytest.mark.parametrize(
    ("birth", "category", "uncertain"),
    [("2008", "was-not-brought", 365), ("2008-05", "did-not-attend", 30)],
)
def test_a_partial_birth_date_is_decided_on_the_side_of_the_child(
    client: TestClient, state: AppState, birth: str, category: str, uncertain: int
) -> None:
    pid = created_id(post(client, "Patient", patient(birth=birth)))
    body = appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z")
    [event] = events(state, created_id(post(client, "Appointment", body)))
    assert (event.category, event.age_uncertain_days) == (category, uncertain)


def test_a_cancellation_with_no_reason_is_cancelled_unknown(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    body = appointment(f"Patient/{pid}", "cancelled", "2026-06-10T09:00:00Z")
    appt = created_id(post(client, "Appointment", body))
    assert [e.category for e in events(state, appt)] == ["cancelled-unknown"]
    tag = client.get(f"/fhir/Appointment/{appt}").json()["meta"]["tag"][0]
    assert tag["code"] == "cancelled-unknown"


def test_a_flag_on_a_partial_birth_date_says_the_age_is_uncertain(
    client: TestClient, state: AppState
) -> None:
    pid = created_id(post(client, "Patient", patient(birth="2008")))
    for day in ("2026-06-08", "2026-06-10"):
        post(client, "Appointment", appointment(f"Patient/{pid}", "noshow", f"{day}T09:00:00Z"))
    flag = flags(client, pid)["repeat-wnb"]
    ext = next(x for x in flag["extension"] if x["url"].endswith("wnb-flag-evidence"))
    assert {"url": "age-uncertain", "valueBoolean": True} in ext["extension"]
    r = client.post(f"/api/flags/{flag['id']}/review", json={"action": "acknowledge"})
    assert r.status_code == 200  # a review's new Flag version keeps saying so
    again = flags(client, pid)["repeat-wnb"]
    ext = next(x for x in again["extension"] if x["url"].endswith("wnb-flag-evidence"))
    assert {"url": "age-uncertain", "valueBoolean": True} in ext["extension"]


def at_organisation(ods: str) -> dict[str, Any]:
    return {"performer": [{"type": "Organization", "identifier": {"system": ODS, "value": ods}}]}


def test_a_dna_gp_observation_is_rebooked_by_a_gp_visit(
    client: TestClient, state: AppState
) -> None:
    """Hazard log H-03: "DNA GP appointment", with no performer and no based-on appointment,
    is a general practice miss; the GP visit three days later answers it."""
    pid = child(client)
    obs = created_id(
        post(client, "Observation", dna(pid, effectiveDateTime="2026-05-25T09:00:00Z"))
    )
    assert [e.service_key for e in events(state, obs)] == ["general-practice"]
    seen = appointment(f"Patient/{pid}", "fulfilled", "2026-05-28T09:00:00Z", service="gp")
    post(client, "Appointment", seen)
    assert "not-rebooked" not in flags(client, pid)
    # A generic "did not attend" names no service: nothing answers it.
    other = child(client)
    generic = {**dna(other, effectiveDateTime="2026-05-25T09:00:00Z")}
    generic["code"] = {"coding": [{"system": SNOMED, "code": "281399006"}]}
    post(client, "Observation", generic)
    post(
        client,
        "Appointment",
        {
            **seen,
            "participant": [{"actor": {"reference": f"Patient/{other}"}, "status": "accepted"}],
        },
    )
    assert "not-rebooked" in flags(client, other)


def test_one_miss_as_an_appointment_and_a_chis_observation_is_one_event(
    client: TestClient,
) -> None:
    """Hazard log H-05: the CHIS report knows only the organisation; the appointment is at it."""
    pid = child(client)
    practice = booked_by("ODS-A")
    post(
        client,
        "Appointment",
        appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z", **practice),
    )
    chis = dna(pid, effectiveDateTime="2026-06-10T09:30:00Z", **at_organisation("ODS-A"))
    chis["code"] = {"coding": [{"system": SNOMED, "code": "281399006"}]}
    post(client, "Observation", chis)
    assert "repeat-wnb" not in flags(client, pid)
    # The same report from another organisation is another miss.
    elsewhere = {**chis, **at_organisation("ODS-B")}
    post(client, "Observation", elsewhere)
    assert "repeat-wnb" in flags(client, pid)


@pytest.mark.parametrize(("rebooked_at", "answered"), [("ODS-A", True), ("ODS-B", False)])
def test_a_miss_known_only_by_its_organisation_is_rebooked_there(
    client: TestClient, state: AppState, rebooked_at: str, answered: bool
) -> None:
    pid = child(client)
    miss = dna(pid, effectiveDateTime="2026-05-25T09:00:00Z", **at_organisation("ODS-A"))
    miss["code"] = {"coding": [{"system": SNOMED, "code": "281399006"}]}
    post(client, "Observation", miss)
    rebooked = appointment(
        f"Patient/{pid}",
        "booked",
        "2026-07-01T09:00:00Z",
        created="2026-05-29T10:00:00Z",
        **booked_by(rebooked_at),
    )
    post(client, "Appointment", rebooked)
    assert ("not-rebooked" not in flags(client, pid)) == answered
    # The backtest reads the organisation from the same rows and agrees.
    report = state.read(lambda s: run_backtest(s, state.rules, None, None, FIXED_NOW))
    found = {t.firing.rule_id for t in report.found if pid in t.firing.child_ids}
    assert found == set(flags(client, pid))
