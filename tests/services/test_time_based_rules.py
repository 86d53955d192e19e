"""Time-based rules: decided by the worker's reconcile job as the (test-controlled) clock
moves; each family carries a durable mark for its next deadline."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import AppState
from app.store.reconcile_models import ReconcileDue
from app.worker.jobs import run_reconcile
from tests.conftest import FIXED_NOW
from tests.factories import child, missed
from tests.services.test_rules_at_ingest import flags


def due_checks_at(state: AppState, days: float) -> int:
    """Run the worker's job as if `days` had passed (then back to now, so tokens stay valid)."""
    moment = FIXED_NOW + timedelta(days=days)
    state.clock = lambda: moment
    try:
        return run_reconcile(state)
    finally:
        state.clock = lambda: FIXED_NOW


def marks(state: AppState) -> dict[str, str]:
    with state.reader() as s:
        return {m.patient_id: m.due_at.isoformat() for m in s.scalars(select(ReconcileDue))}


def test_not_rebooked_fires_only_once_the_window_closes(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    # Two days ago; due when 27 June ends in London: 23:00 UTC (BST).
    missed(client, pid, "2026-06-13")
    assert marks(state) == {pid: "2026-06-27T23:00:00+00:00"}
    due_checks_at(state, 0)
    assert due_checks_at(state, 12.45) == 0  # 27 June 22:48 UTC, 23:48 BST: not yet
    assert "not-rebooked" not in flags(client, pid)
    assert due_checks_at(state, 12.5) == 1  # 28 June 00:00 UTC
    flag = flags(client, pid)["not-rebooked"]
    assert flag["period"]["start"] == "2026-06-28T00:00:00.000Z"
    assert marks(state) == {}  # no window left open
    assert due_checks_at(state, 13) == 0  # decided once
    assert flags(client, pid)["not-rebooked"]["meta"]["versionId"] == "1"


def test_a_booking_with_the_same_service_stops_it(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13")
    missed(client, pid, "2026-06-20", status="booked")
    due_checks_at(state, 20)
    assert "not-rebooked" not in flags(client, pid)


def test_a_booking_with_another_service_does_not(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13")
    missed(client, pid, "2026-06-20", status="booked", service="gp")
    due_checks_at(state, 20)
    assert "not-rebooked" in flags(client, pid)


def test_recoding_the_miss_cancels_its_check(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-13", ident="A-7")
    missed(client, pid, "2026-06-13", status="fulfilled", ident="A-7")  # it was attended after all
    due_checks_at(state, 20)  # the old deadline finds nothing to raise
    assert marks(state) == {}
    assert flags(client, pid) == {}
