"""Bundles take turns (`app/bundle_slots.py`): a Bundle beyond its process's slots waits on
the event loop, first come first served, holding no thread; every Bundle is still answered,
and each gives its slot back however it ends."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from app.bundle_slots import BundleSlots
from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, child

DEADLINE = 30.0  # seconds: generous, only ever waited out by a failure


@pytest.mark.parametrize("size", [1, 2])
def test_a_bundle_beyond_the_slots_waits_its_turn(size: int) -> None:
    slots = BundleSlots(size)

    async def main() -> list[int]:
        gate = asyncio.Event()
        started: list[int] = []
        first = asyncio.Event()

        async def bundle(n: int) -> None:
            async with slots.held():
                started.append(n)
                if len(started) == size:
                    first.set()
                await gate.wait()

        tasks = [asyncio.create_task(bundle(n)) for n in range(size + 2)]
        await asyncio.wait_for(first.wait(), DEADLINE)
        for _ in range(10):  # every task has run up to its wait
            await asyncio.sleep(0)
        assert started == list(range(size)) and slots.free() == 0
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
        assert slots.free() == size
        return started

    # All answered, in the order they came.
    assert asyncio.run(main()) == list(range(size + 2))


def test_a_slot_is_given_back_when_its_bundle_fails() -> None:
    slots = BundleSlots(1)

    async def main() -> int:
        with pytest.raises(RuntimeError):
            async with slots.held():
                raise RuntimeError("the Bundle's failure")
        return slots.free()

    assert asyncio.run(main()) == 1


def _bundle_of(patient: str, when: str) -> dict[str, Any]:
    """A transaction Bundle of one noshow of `patient` ("Patient/id") on `when`."""
    entry = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": appointment(patient, "noshow", f"{when}T09:00:00Z"),
        "request": {"method": "POST", "url": "Appointment"},
    }
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


async def _free(state: AppState) -> int:
    return state.bundle_slots.free()


def test_a_bundle_gives_its_slot_back_answered_or_refused(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    for patient, status in ((f"Patient/{pid}", 200), ("Patient/nobody", 422)):
        r = client.post("/fhir", json=_bundle_of(patient, "2026-01-03"), headers=FHIR_JSON)
        assert r.status_code == status, r.text
        assert client.portal.call(_free, state) == state.settings.bundles_at_once


def test_the_bundle_route_waits_for_a_slot(client: TestClient, state: AppState) -> None:
    """Every slot held on the app's event loop: a Bundle waits, and is stored once one is
    given back. (Its wait holds no worker thread: it is on the event loop.)"""
    bundle = _bundle_of(f"Patient/{child(client)}", "2026-02-03")
    release = threading.Event()
    held = threading.Semaphore(0)

    async def hold() -> None:
        async with state.bundle_slots.held():
            held.release()
            await anyio.to_thread.run_sync(release.wait)

    statuses: list[int] = []
    sender = threading.Thread(
        target=lambda: statuses.append(
            client.post("/fhir", json=bundle, headers=FHIR_JSON).status_code
        ),
        daemon=True,
    )
    try:
        for _ in range(state.settings.bundles_at_once):
            client.portal.start_task_soon(hold)
            assert held.acquire(timeout=DEADLINE)
        assert client.portal.call(_free, state) == 0
        sender.start()
        sender.join(0.5)
        assert statuses == []  # still waiting for a slot
    finally:
        release.set()
    sender.join(DEADLINE)
    assert statuses == [200]
