"""Issue 8 item 8, on both databases: a coded miss is never erased by a later booked, pending
or proposed version; a version older than the stored one (by the source's meta.lastUpdated) is
kept in history, never current, and the client is warned."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, child, created_id, post
from tests.services.test_coding_at_ingest import events
from tests.services.test_rules_at_ingest import flags

IDENT = "A-8"


def version(pid: str, status: str, **extra: Any) -> dict[str, Any]:
    body = appointment(f"Patient/{pid}", status, "2026-06-10T09:00:00Z", ident=IDENT, **extra)
    if status == "proposed":
        body.pop("start"), body.pop("end")
    return body


@pytest.mark.parametrize("later", ["booked", "pending", "proposed", "waitlist"])
def test_a_stale_booking_never_erases_a_miss(
    client: TestClient, state: AppState, later: str
) -> None:
    pid = child(client, birth="2026-01-01")
    appt = created_id(post(client, "Appointment", version(pid, "noshow")))
    assert "infant-wnb" in flags(client, pid)
    r = post(client, "Appointment", version(pid, later))
    assert r.status_code == 200, r.text
    assert [e.category for e in events(state, appt)] == ["was-not-brought"]
    assert "infant-wnb" in flags(client, pid)
    current = client.get(f"/fhir/Appointment/{appt}").json()
    assert current["status"] == later  # what the source sent is stored...
    assert [t["code"] for t in current["meta"]["tag"]] == ["was-not-brought"]  # ...the miss stands


@pytest.mark.parametrize(
    ("later", "category"),
    [("entered-in-error", None), ("fulfilled", "attended"), ("cancelled", "cancelled-unknown")],
)
def test_a_final_outcome_replaces_a_miss(
    client: TestClient, state: AppState, later: str, category: str | None
) -> None:
    pid = child(client)
    appt = created_id(post(client, "Appointment", version(pid, "noshow")))
    assert post(client, "Appointment", version(pid, later)).status_code == 200
    assert [e.category for e in events(state, appt)] == ([category] if category else [])


def stamped(pid: str, status: str, last_updated: str) -> dict[str, Any]:
    return version(pid, status, meta={"lastUpdated": last_updated})


def test_an_older_version_is_kept_in_history_but_not_made_current(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    appt = created_id(post(client, "Appointment", stamped(pid, "noshow", "2026-06-10T12:00:00Z")))
    # A copy the source made before the miss arrives late (a retry queue, a batch re-run).
    r = post(client, "Appointment", stamped(pid, "fulfilled", "2026-06-10T08:00:00Z"))
    assert r.status_code == 200, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["severity"] == "warning"
    assert issue["expression"] == ["Appointment.meta.lastUpdated"]
    assert r.headers["ETag"] == 'W/"3"'
    current = client.get(f"/fhir/Appointment/{appt}").json()
    assert (current["status"], current["meta"]["versionId"]) == ("noshow", "3")
    history = client.get(f"/fhir/Appointment/{appt}/_history").json()
    statuses = sorted(
        (e["resource"]["meta"]["versionId"], e["resource"]["status"]) for e in history["entry"]
    )
    assert statuses == [("1", "noshow"), ("2", "fulfilled"), ("3", "noshow")]
    assert [e.category for e in events(state, appt)] == ["was-not-brought"]
    # A newer version is current as usual.
    r = post(client, "Appointment", stamped(pid, "fulfilled", "2026-06-10T13:00:00Z"))
    assert r.json()["resourceType"] == "Appointment" and r.json()["meta"]["versionId"] == "4"
    assert [e.category for e in events(state, appt)] == ["attended"]


def test_without_the_source_time_order_of_arrival_decides(client: TestClient) -> None:
    pid = child(client)
    appt = created_id(post(client, "Appointment", version(pid, "noshow")))
    r = post(client, "Appointment", stamped(pid, "fulfilled", "2026-06-10T08:00:00Z"))
    assert r.json()["resourceType"] == "Appointment"
    assert client.get(f"/fhir/Appointment/{appt}").json()["status"] == "fulfilled"


def test_a_stale_entry_in_a_bundle_carries_the_warning(client: TestClient) -> None:
    pid = child(client)
    post(client, "Appointment", stamped(pid, "noshow", "2026-06-10T12:00:00Z"))
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": stamped(pid, "booked", "2026-06-09T12:00:00Z"),
                "request": {"method": "POST", "url": "Appointment"},
            }
        ],
    }
    r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    [entry] = r.json()["entry"]
    assert entry["resource"]["status"] == "noshow"
    assert entry["response"]["outcome"]["issue"][0]["severity"] == "warning"
