"""Issue 8 item 7, on both databases: when an appointment was booked is stored
(Appointment.created, else when the service first stored it) and survives later versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.conftest import FIXED_NOW
from tests.factories import appointment, child, created_id, post
from tests.services.test_coding_at_ingest import events
from tests.services.test_rules_at_ingest import flags
from tests.services.test_time_based_rules import due_checks_at


def test_booked_at_is_created_else_first_stored(client: TestClient, state: AppState) -> None:
    pid = child(client)
    with_created = appointment(
        f"Patient/{pid}", "booked", "2026-07-01T09:00:00Z", created="2026-06-02T10:00:00+01:00"
    )
    [event] = events(state, created_id(post(client, "Appointment", with_created)))
    assert event.booked_at == datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    # Booked for a minute from now, then missed once that minute has passed.
    soon = {"start": "2026-06-15T12:01:00Z", "end": "2026-06-15T12:20:00Z"}
    plain = appointment(f"Patient/{pid}", "booked", ident="B-1", **soon)
    appt = created_id(post(client, "Appointment", plain))
    assert events(state, appt)[0].booked_at == FIXED_NOW
    # Later versions (the appointment then missed) keep when it was first booked.
    state.clock = lambda: FIXED_NOW + timedelta(minutes=2)  # within the token's life
    again = appointment(f"Patient/{pid}", "noshow", ident="B-1", **soon)
    assert post(client, "Appointment", again).status_code == 200
    [missed] = events(state, appt)
    assert (missed.category, missed.booked_at) == ("was-not-brought", FIXED_NOW)


def test_a_rebooking_made_in_time_for_a_later_date_counts(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    post(client, "Appointment", appointment(f"Patient/{pid}", "noshow", "2026-06-13T09:00:00Z"))
    # Booked today (2 days after the miss) for a date 30 days later.
    post(client, "Appointment", appointment(f"Patient/{pid}", "booked", "2026-07-13T09:00:00Z"))
    assert due_checks_at(state, 20) == 1
    assert "not-rebooked" not in flags(client, pid)
