"""Bundles take turns (`bundles_at_once`): a Bundle beyond the process's slots waits for one
before it takes a connection, and every Bundle is still answered."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.api.audited import audited
from app.runtime import AppState, build_state
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from tests.api.test_group_commit import WHO
from tests.conftest import settings_for
from tests.factories import FHIR_JSON, appointment, child

DEADLINE = 30.0  # seconds: generous, only ever waited out by a failure


def _blocking(
    started: list[str], name: str, gate: threading.Event
) -> Callable[[Session], Answer[str]]:
    def use_case(_session: Session) -> Answer[str]:
        started.append(name)
        assert gate.wait(DEADLINE), "never released"
        return Answer(name)

    return use_case


@pytest.mark.own_connections
@pytest.mark.parametrize("at_once", [1, 2])
def test_a_bundle_beyond_the_slots_waits_for_one(database_url: str, at_once: int) -> None:
    state = build_state(settings_for(database_url, bundles_at_once=at_once))
    started: list[str] = []
    gate = threading.Event()
    answers: dict[str, str] = {}

    def post(name: str) -> None:
        use_case = _blocking(started, name, gate)
        note = AuditNote("transaction", "Bundle")
        answers[name] = asyncio.run(
            audited(state, WHO, note, (), use_case, slots=state.bundle_slots)
        )

    threads = [threading.Thread(target=post, args=(f"b{i}",)) for i in range(at_once + 1)]
    try:
        for t in threads:
            t.start()
        # The slots fill; the Bundle after them waits (it never starts while they are held).
        assert _eventually(lambda: len(started) == at_once)
        assert not _eventually(lambda: len(started) > at_once, within=0.5)
        gate.set()
        for t in threads:
            t.join(DEADLINE)
        assert sorted(answers) == sorted(f"b{i}" for i in range(at_once + 1))
        assert len(started) == at_once + 1
    finally:
        gate.set()
        state.engine.dispose()


def _eventually(condition: Callable[[], bool], within: float = DEADLINE) -> bool:
    done = threading.Event()
    for _ in range(int(within / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return condition()


def _all_free(state: AppState) -> bool:
    """Whether every slot can be taken (each within the deadline: a slot never given back
    fails here rather than hanging the next Bundle)."""
    slots = state.bundle_slots
    taken = 0
    try:
        for _ in range(state.settings.bundles_at_once):
            if not slots.acquire(timeout=DEADLINE):
                return False
            taken += 1
        return True
    finally:
        for _ in range(taken):
            slots.release()


def _bundle_of(patient: str, when: str) -> dict[str, Any]:
    """A transaction Bundle of one noshow of `patient` ("Patient/id") on `when`."""
    entry = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": appointment(patient, "noshow", f"{when}T09:00:00Z"),
        "request": {"method": "POST", "url": "Appointment"},
    }
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


def test_a_bundle_gives_its_slot_back_answered_or_refused(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    for patient, status in ((f"Patient/{pid}", 200), ("Patient/nobody", 422)):
        r = client.post("/fhir", json=_bundle_of(patient, "2026-01-03"), headers=FHIR_JSON)
        assert r.status_code == status, r.text
        assert _all_free(state)


def test_the_bundle_route_waits_for_a_slot(client: TestClient, state: AppState) -> None:
    bundle = _bundle_of(f"Patient/{child(client)}", "2026-02-03")
    slots, held = state.bundle_slots, state.settings.bundles_at_once
    statuses: list[int] = []

    def post() -> None:
        statuses.append(client.post("/fhir", json=bundle, headers=FHIR_JSON).status_code)

    for _ in range(held):
        assert slots.acquire(timeout=DEADLINE)
    sender = threading.Thread(target=post)
    try:
        sender.start()
        assert not _eventually(lambda: bool(statuses), within=0.5)  # waiting for a slot
    finally:
        for _ in range(held):
            slots.release()
    sender.join(DEADLINE)
    assert statuses == [200]
