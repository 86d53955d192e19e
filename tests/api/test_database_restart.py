"""PostgreSQL restarting under ingest load (issue 20, item 12): only the requests in flight may
fail, and then with 503 (never 500); every resource answered 2xx is stored with what it
caused (the infant's flag, its AuditEvent, sealed into an unbroken chain); the service
recovers by itself. The restart is every backend of the test database terminated while a
real server takes concurrent POSTs: the shared server itself is never restarted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from app.runtime import AppState
from app.store import audit_chain
from app.worker.jobs import seal_audit
from tests.db_faults import terminate_all_connections
from tests.factories import FHIR_JSON, appointment, patient
from tests.live_server import serve
from tests.notify.kit import ODS

pytestmark = [
    pytest.mark.postgres_only("a server whose backends can be terminated"),
    pytest.mark.own_connections("a live server under concurrent load"),
]

SENDERS = 6
BEFORE, AFTER = 15, 30  # families written before the restart, and after it
DEADLINE = 300.0  # seconds: generous, the machine is shared


@dataclass
class Load:
    """What every request answered: (type, status, id when created), across sender threads."""

    answers: list[tuple[str, int, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def note(self, type_name: str, r: httpx.Response) -> str | None:
        created = r.json().get("id") if r.status_code == 201 else None
        with self.lock:
            self.answers.append((type_name, r.status_code, created))
        return created

    def families(self) -> int:
        with self.lock:
            return sum(1 for t, s, _ in self.answers if t == "Appointment" and s == 201)


def send(http: httpx.Client, load: Load) -> None:
    """An infant registered at a practice, then a missed appointment, until told to stop."""
    while not load.stop.is_set():
        child = patient(birth="2026-01-10", generalPractitioner=[
            {"identifier": {"system": ODS, "value": "A81001"}}])
        pid = load.note("Patient", http.post("/fhir/Patient", json=child, headers=FHIR_JSON))
        if pid is None:
            continue
        missed = appointment(f"Patient/{pid}", start="2026-06-10T09:00:00Z")
        load.note("Appointment", http.post("/fhir/Appointment", json=missed, headers=FHIR_JSON))


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE:.0f} s: {what}")
        time.sleep(0.05)


def test_a_restart_under_load_loses_nothing_committed_and_answers_no_500(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {role_tokens['admin']}"}
    load = Load()
    with (
        serve(state) as base,
        httpx.Client(base_url=base, headers=auth, timeout=120) as http,
        ThreadPoolExecutor(SENDERS) as pool,
    ):
        senders = [pool.submit(send, http, load) for _ in range(SENDERS)]
        wait_until(lambda: load.families() >= BEFORE, "load under way")
        cut = terminate_all_connections(state.engine)
        at_restart = load.families()
        wait_until(lambda: load.families() >= at_restart + AFTER, "writes succeed again")
        load.stop.set()
        for sender in senders:
            sender.result(timeout=DEADLINE)  # a sender's own exception fails the test here

        statuses = {s for _, s, _ in load.answers}
        assert cut >= 1
        assert statuses <= {201, 503}, sorted(statuses)
        # Every 2xx is stored, and so is what it caused: the infant's flag.
        for type_name, status, rid in load.answers:
            if status == 201:
                assert http.get(f"/fhir/{type_name}/{rid}").status_code == 200, (type_name, rid)
        children = [rid for t, s, rid in load.answers if t == "Patient" and s == 201]
        flagged = {
            e["resource"]["subject"]["reference"]
            for e in http.get("/fhir/Flag", params={"_count": 1000}).json().get("entry", [])
        }
        appointed = set()
        for type_name, status, rid in load.answers:
            if type_name == "Appointment" and status == 201:
                got = http.get(f"/fhir/Appointment/{rid}").json()
                appointed.add(got["participant"][0]["actor"]["reference"])
        assert appointed <= flagged
        assert len(children) >= BEFORE + AFTER
        assert http.get("/health/ready").status_code == 200
    # The trail too: every committed request's AuditEvent is sealed into one unbroken chain.
    seal_audit(state)
    report = state.read(audit_chain.verify)
    assert report.ok and report.unchained == 0, report
