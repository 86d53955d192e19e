"""A death with no date, a rebooking that withdraws not-rebooked, an appointment re-sent for
another child: each says what changed, and nothing new is raised for a child who has died."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import appointment, child, missed, nhs_number, post, related_person
from tests.services.test_coding_at_ingest import joint
from tests.services.test_late_facts import put, system_reviews
from tests.services.test_rules_at_ingest import flags


def died(client: TestClient, pid: str) -> None:
    put(
        client,
        "Patient",
        pid,
        {**client.get(f"/fhir/Patient/{pid}").json(), "deceasedBoolean": True},
    )


def test_deceased_with_no_date_raises_no_new_flag(client: TestClient) -> None:
    pid = child(client)
    died(client, pid)
    missed(client, pid, "2026-05-20")  # its not-rebooked window has closed
    missed(client, pid, "2026-05-25")
    missed(client, pid, "2026-06-01", service="gp")
    assert flags(client, pid) == {}


def test_deceased_with_no_date_sends_open_flags_to_a_nurse(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-10")
    missed(client, pid, "2026-06-12")
    flag_id = flags(client, pid)["repeat-wnb"]["id"]
    died(client, pid)
    assert flags(client, pid)["repeat-wnb"]["id"] == flag_id  # never closed by the service
    [(action, note)] = system_reviews(state, flag_id)
    assert action == "deceased" and "date unknown" in note


def test_a_late_rebooking_is_named_as_the_reason_not_rebooked_went(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    miss = missed(client, pid, "2026-05-20")
    flag_id = flags(client, pid)["not-rebooked"]["id"]
    # Booked on 25 May (its window still open then), told to the service only now.
    rebooked = appointment(
        f"Patient/{pid}", "booked", "2026-07-01T09:00:00Z", created="2026-05-25T10:00:00Z"
    )
    rebooking = post(client, "Appointment", rebooked).json()["id"]
    assert "not-rebooked" not in flags(client, pid)
    [(action, note)] = system_reviews(state, flag_id)
    assert action == "withdraw"
    assert f"Appointment/{rebooking} followed up Appointment/{miss}" in note
    assert "is now was-not-brought" not in note


def test_an_appointment_resent_for_another_child_says_so(
    client: TestClient, state: AppState, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = child(client), child(client)
    missed(client, first, "2026-06-10", ident="R-1")
    moved = missed(client, first, "2026-06-12", ident="R-2")
    flag_id = flags(client, first)["repeat-wnb"]["id"]
    missed(client, second, "2026-06-12", ident="R-2")  # the same identifier, another child
    assert "repeat-wnb" not in flags(client, first)
    [(action, note)] = system_reviews(state, flag_id)
    assert action == "withdraw"
    assert f"Appointment/{moved} now names another patient" in note
    warned = [r for r in caplog.records if r.name == "wnb.ingest" and r.levelname == "WARNING"]
    assert [r.getMessage() for r in warned] == [
        f"Appointment/{moved} was sent again naming another patient: its coded outcome moves "
        "to them"
    ]


def test_one_joint_appointment_missed_by_twins_is_a_family_pattern(client: TestClient) -> None:
    """Decision (hazard log H-76): two children not brought is what family-wnb counts, even
    at one appointment. Twins booked only together would otherwise never show a family
    pattern, and a carer who brings neither twin has not brought two children."""
    carer = nhs_number()
    one, two = child(client, birth="2024-04-20"), child(client, birth="2024-04-20")
    for pid in (one, two):
        post(client, "RelatedPerson", related_person(f"Patient/{pid}", carer))
    post(client, "Appointment", joint(one, two))
    for pid in (one, two):
        assert "family-wnb" in flags(client, pid)
        assert "repeat-wnb" not in flags(client, pid)  # one miss each
