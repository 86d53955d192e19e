"""One unit of work, one context: the use case and the reconciliation before its commit judge
with the same `now`, however many times the clock is read in between, and the touched set is
taken once."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta

from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import AppState
from app.services.common.unit_of_work import begin, take_touched, touch, unit_of
from tests.conftest import FIXED_NOW
from tests.factories import appointment, child, created_id, post


def test_the_flag_raised_by_a_write_carries_the_writes_own_time(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    ticks = itertools.count()
    ticking = dataclasses.replace(state, clock=lambda: FIXED_NOW + timedelta(seconds=next(ticks)))
    with TestClient(create_app(state=ticking)) as http:
        http.headers["Authorization"] = f"Bearer {role_tokens['admin']}"
        pid = child(http, birth="2026-01-01")  # under one: infant-wnb fires on one miss
        body = appointment(f"Patient/{pid}", "noshow", "2026-06-01T09:00:00Z")
        appt = http.get(f"/fhir/Appointment/{created_id(post(http, 'Appointment', body))}")
        flags = http.get("/fhir/Flag", params={"subject": f"Patient/{pid}"}).json()
    [flag] = [e["resource"] for e in flags["entry"]]
    # Before: reconciliation built a context of its own, read the clock again and stamped
    # the Flag later than the write that raised it.
    assert flag["meta"]["lastUpdated"] == appt.json()["meta"]["lastUpdated"]


def test_the_touched_set_is_taken_once_per_attempt(state: AppState) -> None:
    with state.writer() as session:
        begin(session)
        touch(session, ["a", "b"])
        touch(session, ["b", "c"])
        assert take_touched(session) == {"a", "b", "c"}
        assert take_touched(session) == set()  # a second settle finds nothing to judge
        touch(session, ["d"])
        assert not unit_of(session).defer_reconcile
        begin(session, defer_reconcile=True)  # the next attempt starts clean
        assert take_touched(session) == set()
        assert unit_of(session).defer_reconcile
        session.rollback()
