"""What a safeguarding status Flag counts for: an inactive one the service never knew as
active counts only for a period it states in full; one with no start counts from when the
service learned of it, and the flag it supports says so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.rules.desired import PERIOD_UNKNOWN
from app.runtime import AppState
from app.services.common.writes import WriteRequest
from app.services.records.ingest import write_resources
from tests.conftest import FIXED_NOW
from tests.factories import appointment, child, missed, post
from tests.services.test_late_facts import put, status_flag
from tests.services.test_rules_at_ingest import evidence, flags


def plan(client: TestClient, pid: str, period: dict[str, str], status: str = "active") -> Any:
    r = post(client, "Flag", status_flag(pid, period, status))
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.mark.parametrize("period", [{}, {"start": "2026-01-01"}, {"end": "2026-06-30"}])
def test_a_plan_first_sent_inactive_without_full_dates_never_counts(
    client: TestClient, period: dict[str, str]
) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-05")
    plan(client, pid, period, "inactive")
    assert "protected-child" not in flags(client, pid)


def test_a_plan_first_sent_inactive_with_its_dates_counts_for_them(client: TestClient) -> None:
    """A past plan stated in full (CP-IS keeps them for a year) is a fact about that time."""
    pid = child(client)
    missed(client, pid, "2026-06-05")
    plan(client, pid, {"start": "2026-01-01", "end": "2026-06-10"}, "inactive")
    assert "protected-child" in flags(client, pid)


def test_a_plan_known_active_then_ended_still_counts_for_its_active_time(
    client: TestClient,
) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-05")
    sid = plan(client, pid, {"start": "2026-01-01"})
    put(client, "Flag", sid, status_flag(pid, {"start": "2026-01-01"}, "inactive"))
    assert "protected-child" in flags(client, pid)


def test_a_plan_with_no_start_counts_from_when_it_was_learned(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    missed(client, pid, "2024-07-15")  # 700 days before: not covered
    missed(client, pid, "2026-06-05")  # ten days before: not covered either
    sid = plan(client, pid, {})
    assert "protected-child" not in flags(client, pid)
    # Re-sent the next day: its start does not move. A miss after the service learned of the
    # plan counts, and the flag says the plan's start is unknown.
    later = FIXED_NOW + timedelta(days=1)
    state.clock = lambda: later
    try:
        write(state, status_flag(pid, {}, "active") | {"id": sid, "note": [{"text": "again"}]})
        write(state, appointment(f"Patient/{pid}", "noshow", "2026-06-15T18:00:00Z"))
    finally:
        state.clock = lambda: FIXED_NOW
    flag = flags(client, pid)["protected-child"]
    assert len(evidence(flag)) == 1
    assert PERIOD_UNKNOWN.strip() in str(flag), flag


def write(state: AppState, data: dict[str, Any]) -> None:
    """Store a resource as a source's write does, at the state's clock (a token would expire)."""
    request = WriteRequest(type=data["resourceType"], data=data, id=data.get("id"))
    state.write(lambda s: write_resources(s, [request], state.write_context()))
