"""Outcomes that cannot be true of a child are refused with 422 naming where, and change
nothing: a miss before the child's birth (in either order of arrival), a miss dated in the
future, a status or DNA Observation about someone who is not a Patient."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.fhir.dates import fhir_instant
from app.runtime import AppState
from tests.conftest import FIXED_NOW
from tests.factories import appointment, child, missed, post
from tests.services.test_coding_at_ingest import dna
from tests.services.test_late_facts import household, put, status_flag
from tests.services.test_rules_at_ingest import flags


def refused(response: Any, expression: str) -> str:
    assert response.status_code == 422, response.text
    [issue] = response.json()["issue"]
    assert issue["expression"] == [expression]
    return str(issue["diagnostics"])


def stored(client: TestClient, type_name: str, pid: str) -> int:
    r = client.get(f"/fhir/{type_name}", params={"patient": pid, "_summary": "count"})
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def test_a_miss_before_the_childs_birth_is_refused(client: TestClient) -> None:
    pid = child(client, birth="2026-03-01")
    early = appointment(f"Patient/{pid}", "noshow", "2026-02-28T09:00:00Z")
    said = refused(post(client, "Appointment", early), "Appointment.start")
    assert f"before the birth date of Patient/{pid}" in said
    assert stored(client, "Appointment", pid) == 0
    assert flags(client, pid) == {}
    # A DNA Observation names its own date.
    said = refused(
        post(client, "Observation", dna(pid, effectiveDateTime="2026-02-01")),
        "Observation.effectiveDateTime",
    )
    assert stored(client, "Observation", pid) == 0
    # The day of the birth (Europe/London) is not before it.
    assert post(client, "Appointment", missed_on(pid, "2026-03-01T00:30:00Z")).status_code == 201


def missed_on(pid: str, start: str) -> dict[str, Any]:
    return {**appointment(f"Patient/{pid}", "noshow", start), "end": start}


def test_a_partial_birth_date_refuses_only_a_miss_before_its_earliest_day(
    client: TestClient,
) -> None:
    pid = child(client, birth="2026-02")
    refused(
        post(client, "Appointment", missed_on(pid, "2026-01-31T09:00:00Z")), "Appointment.start"
    )
    assert post(client, "Appointment", missed_on(pid, "2026-02-01T09:00:00Z")).status_code == 201


def test_a_birth_date_moved_after_a_stored_miss_is_refused(client: TestClient) -> None:
    """Decision (hazard log H-81): the Patient is refused, not believed with its miss
    ignored. One of the two is wrong; a person at the source must say which."""
    pid = child(client, birth="2026-01-01")
    miss = missed(client, pid, "2026-02-20")
    before = flags(client, pid)
    assert "infant-wnb" in before
    sent = client.get(f"/fhir/Patient/{pid}").json()
    r = client.put(
        f"/fhir/Patient/{pid}",
        json={**sent, "birthDate": "2026-03-01"},
        headers={"Content-Type": "application/fhir+json"},
    )
    said = refused(r, "Patient.birthDate")
    assert f"Appointment/{miss}" in said
    assert client.get(f"/fhir/Patient/{pid}").json()["meta"]["versionId"] == "1"
    assert flags(client, pid) == before
    # Once the miss is corrected, the birth date is accepted.
    put(
        client,
        "Appointment",
        miss,
        {**appointment(f"Patient/{pid}", "entered-in-error", "2026-02-20T09:00:00Z")},
    )
    put(client, "Patient", pid, {**sent, "birthDate": "2026-03-01"})
    assert "infant-wnb" not in flags(client, pid)


def test_a_birth_date_and_the_miss_corrected_in_one_bundle_are_accepted(
    client: TestClient,
) -> None:
    pid = child(client, birth="2026-01-01")
    miss = missed(client, pid, "2026-02-20")
    sent = client.get(f"/fhir/Patient/{pid}").json()
    moved = {**appointment(f"Patient/{pid}", "noshow", "2026-03-20T09:00:00Z"), "id": miss}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**sent, "birthDate": "2026-03-01"},
                "request": {"method": "PUT", "url": f"Patient/{pid}"},
            },
            {"resource": moved, "request": {"method": "PUT", "url": f"Appointment/{miss}"}},
        ],
    }
    r = client.post("/fhir", json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert r.status_code == 200, r.text


def test_a_miss_dated_in_the_future_is_refused(client: TestClient) -> None:
    pid = child(client)
    tomorrow = fhir_instant(FIXED_NOW + timedelta(days=1))
    said = refused(post(client, "Appointment", missed_on(pid, tomorrow)), "Appointment.start")
    assert "has not happened yet" in said
    assert stored(client, "Appointment", pid) == 0
    refused(
        post(client, "Observation", dna(pid, effectiveDateTime=tomorrow)),
        "Observation.effectiveDateTime",
    )
    # A booked appointment in the future is what rebooking looks like: accepted.
    booked = appointment(f"Patient/{pid}", "booked", "2026-07-01T09:00:00Z")
    assert post(client, "Appointment", booked).status_code == 201


def test_a_sender_clock_a_little_ahead_is_tolerated(client: TestClient, state: AppState) -> None:
    pid = child(client)
    tolerance = state.write_context().future_miss_tolerance
    assert (
        tolerance == timedelta(seconds=state.settings.future_miss_tolerance_seconds) > timedelta(0)
    )
    within = fhir_instant(FIXED_NOW + tolerance - timedelta(seconds=1))
    beyond = fhir_instant(FIXED_NOW + tolerance + timedelta(seconds=1))
    assert post(client, "Appointment", missed_on(pid, within)).status_code == 201
    refused(post(client, "Appointment", missed_on(pid, beyond)), "Appointment.start")


@pytest.mark.parametrize("subject", ["Group/{group}", "RelatedPerson/{carer}", None])
def test_a_status_or_dna_observation_not_about_a_patient_is_refused(
    client: TestClient, subject: str | None
) -> None:
    pid = child(client)
    carer = post(
        client,
        "RelatedPerson",
        {"resourceType": "RelatedPerson", "patient": {"reference": f"Patient/{pid}"}},
    ).json()["id"]
    group = post(client, "Group", household(pid)).json()["id"]
    about = {"reference": subject.format(group=group, carer=carer)} if subject else None
    plan = status_flag(pid, {"start": "2026-01-01"})
    obs = dna(pid)
    for resource in (plan, obs):
        if about:
            resource["subject"] = about
        else:
            del resource["subject"]
    if about:  # Flag.subject is required: R4 itself refuses a Flag without it
        refused(post(client, "Flag", plan), "Flag.subject")
    said = refused(post(client, "Observation", obs), "Observation.subject")
    assert "must be about a child" in said
    assert stored(client, "Flag", pid) == 0
    assert client.get("/fhir/Observation", params={"_summary": "count"}).json()["total"] == 0


def test_a_flag_that_is_not_a_status_may_name_a_group(client: TestClient) -> None:
    pid = child(client)
    group = post(client, "Group", household(pid)).json()["id"]
    other = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"coding": [{"system": "https://example.org/flags", "code": "housing"}]},
        "subject": {"reference": f"Group/{group}"},
    }
    assert post(client, "Flag", other).status_code == 201
