"""A reviewed concern whose reasons are all gone stays open for the nurse, evidence and all;
no agency is concerned by it any more. The agencies that had a reason are told once that it
changed, and that message shows the review state alone; none may read or find it after."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

from app.notify.dispatcher import Dispatcher
from app.runtime import AppState
from tests.factories import appointment, created_id, patient, post
from tests.notify.kit import (
    FLAG_CHANGED,
    ODS,
    agency,
    open_flag,
    subscribe,
    subscription,
)
from tests.notify.receiver import receiving
from tests.services.test_rules_at_ingest import EVIDENCE, reasons


def _missed_once(client: TestClient, status: str, pid: str | None = None) -> str:
    """A baby at practice A81001 not brought (infant-wnb: gp, health visiting, safeguarding
    team); the same appointment sent again with `status` when `pid` is given."""
    if pid is None:
        gp = [{"identifier": {"system": ODS, "value": "A81001"}}]
        pid = created_id(
            post(client, "Patient", patient(birth="2026-01-10", generalPractitioner=gp))
        )
    body = appointment(f"Patient/{pid}", status, "2026-06-10T09:00:00Z", ident="GONE-1")
    assert post(client, "Appointment", body).status_code in (200, 201)
    return pid


def _head(flag: dict[str, Any]) -> list[dict[str, Any]]:
    return next(x for x in flag["extension"] if x["url"] == EVIDENCE)["extension"]


def test_no_agency_reads_a_reviewed_concern_whose_reasons_are_all_gone(
    hooks_state: AppState,
    hooks_client: TestClient,
    anonymous: TestClient,
    dispatcher: Dispatcher,
) -> None:
    gp = agency(hooks_state, hooks_client, "gp", ("A81001",), full_resource=True)
    school = agency(hooks_state, hooks_client, "school-nursing", ("A81001",))
    with receiving() as hook:
        subscribe(hooks_client, gp, subscription(hook.url, FLAG_CHANGED, payload="full-resource"))
        dispatcher.drain()
        pid = _missed_once(hooks_client, "noshow")
        flag = open_flag(hooks_client, pid)
        assert anonymous.get(f"/fhir/Flag/{flag}", headers=gp).status_code == 200
        r = hooks_client.post(f"/api/flags/{flag}/review", json={"action": "acknowledge"})
        assert r.status_code == 200, r.text
        dispatcher.drain()
        before = len(hook.requests)
        _missed_once(hooks_client, "fulfilled", pid)  # it was attended after all
        dispatcher.drain()
        told = hook.received(before + 1)[before:]

    nurse = hooks_client.get(f"/fhir/Flag/{flag}").json()
    assert reasons(nurse) == {} and nurse["status"] == "active"
    assert {"url": "review-state", "valueCode": "evidence-changed"} in _head(nurse)
    assert any(s["url"] == "event" for s in _head(nurse)), "the nurse still sees the evidence"

    # The GP had a reason and is told once that the concern changed: the review state alone.
    [message] = told
    entry = orjson.loads(message.body)["entry"][1]["resource"]
    assert entry["id"] == flag and reasons(entry) == {}
    assert {s["url"] for s in _head(entry)} == {"review-state"}
    assert "Appointment/" not in message.body.decode()
    assert "Patient/" + pid not in orjson.dumps(_head(entry)).decode()

    # No current reason names either agency: neither reads, searches or finds its child.
    for headers in (gp, school):
        for path in (f"/fhir/Flag/{flag}", f"/fhir/Flag/{flag}/_history", f"/fhir/Patient/{pid}"):
            assert anonymous.get(path, headers=headers).status_code == 404, path
        found = anonymous.get("/fhir/Flag", params={"patient": pid}, headers=headers).json()
        assert not found.get("entry")

    # A reason holding again makes the GP's concern again.
    _missed_once(hooks_client, "noshow", pid)
    again = anonymous.get(f"/fhir/Flag/{flag}", headers=gp)
    assert again.status_code == 200 and set(reasons(again.json())) == {"infant-wnb"}
