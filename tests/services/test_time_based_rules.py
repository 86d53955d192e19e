"""Time-based rules: decided by the worker's job as the (test-controlled) clock moves."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from app.runtime import AppState
from app.worker.jobs import run_due_checks
from tests.conftest import FIXED_NOW
from tests.services.test_rules_at_ingest import child, flags, missed


def due_checks_at(state: AppState, days: float) -> int:
    """Run the worker's job as if `days` had passed (then back to now, so tokens stay valid)."""
    moment = FIXED_NOW + timedelta(days=days)
    state.clock = lambda: moment
    try:
        return run_due_checks(state)
    finally:
        state.clock = lambda: FIXED_NOW


def test_not_rebooked_fires_only_once_the_window_closes(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13")  # two days ago; due on 27 June 09:00
    assert due_checks_at(state, 0) == 0
    assert due_checks_at(state, 11.8) == 0  # 27 June 07:12: not yet
    assert "not-rebooked" not in flags(client, pid)
    assert due_checks_at(state, 12) == 1  # 27 June 12:00
    flag = flags(client, pid)["not-rebooked"]
    assert flag["period"]["start"] == "2026-06-27T12:00:00.000Z"
    assert due_checks_at(state, 13) == 0  # decided once


def test_a_booking_with_the_same_service_stops_it(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13")
    missed(client, pid, "2026-06-20", status="booked")
    assert due_checks_at(state, 20) == 1
    assert "not-rebooked" not in flags(client, pid)


def test_a_booking_with_another_service_does_not(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13")
    missed(client, pid, "2026-06-20", status="booked", service="gp")
    assert due_checks_at(state, 20) == 1
    assert "not-rebooked" in flags(client, pid)


def test_recoding_the_miss_cancels_its_check(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13", ident="A-7")
    missed(client, pid, "2026-06-13", status="fulfilled", ident="A-7")  # it was attended after all
    assert due_checks_at(state, 20) == 0
    assert flags(client, pid) == {}
