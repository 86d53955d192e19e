"""Statements per interaction, pinned: round trips dominate on these machines, so a change that
adds one to a hot path fails here. Counted with a SQLAlchemy listener over the whole request
(token check, write, audit, reconciliation, commit), on each database.

Why these budgets (PostgreSQL, where every statement is a round trip):
- an attended Appointment POST, 14: the child's reference checked and its birth date read in
  one query, the identity keys' owners (2); the resource, its version, search values and
  coded event (4; its identity keys a fifth when it carries an identifier); reconciliation:
  the families locked, then read with their members' records (2), the family's events and
  statuses (2), the children's flags with their stored FHIR Flags' versions (1); the audit
  record and its entity (2). The token's client check is cached outside tests
  (auth_cache_seconds is 0 here: the 14th);
- a noshow POST for a child with history, 20: the same, plus one flag changed: its row (1),
  its FHIR Flag's next version (the current row, a version row, search values replaced: 4),
  and the notifier's one: the subscription stamp (the live subscriptions are kept in memory
  while it stays the same, app/notify/live.py; the flag's areas come from the Patient and
  events reconciliation already read; a subscription it is for adds its event number and
  the outbox row). Was 21 before 2026-12-06: the areas and the subscriptions were read on
  every change;
- a transaction Bundle of 100 appointments across 100 families, 14: exactly one appointment's
  statements, since every step is one statement for the whole batch (executemany or COPY);
- a search, 4: the client check, the page, the audit record and its entity.
No statement takes a lock that other writers wait for beyond the families they touch: the
audit trail's hash chain is linked after commit by the worker (app/store/audit_chain.py).
SQLite runs in-process, so its statements are not round trips; it also sends BEGIN as
statements of its own, and inserts with RETURNING one row at a time (the 100-row Bundle's
resources).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, child, missed, patient, post

# The budgets count what a request sends: a savepoint per session would add two statements.
pytestmark = pytest.mark.own_connections("counts the statements a request sends")

# (sqlite, postgres): SQLite sends BEGIN / BEGIN IMMEDIATE as statements of its own.
BUDGETS = {
    "attended": (16, 14),
    "noshow": (22, 20),
    "bundle": (115, 14),
    "search": (6, 4),
}


@contextmanager
def counted(state: AppState) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:4]))

    event.listen(state.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(state.engine, "before_cursor_execute", record)


def summary(seen: list[str]) -> str:
    """The statements by kind, most frequent first: what to look at when a budget breaks."""
    return "\n".join(f"{n:4} {s}" for s, n in Counter(seen).most_common())


def budget(state: AppState, name: str) -> int:
    sqlite, postgres = BUDGETS[name]
    return sqlite if state.settings.is_sqlite else postgres


def with_history(client: TestClient) -> str:
    pid = child(client)
    missed(client, pid, "2026-05-20")
    missed(client, pid, "2026-05-28", status="fulfilled")
    missed(client, pid, "2026-06-02")
    return pid


@pytest.mark.parametrize("status", ["fulfilled", "noshow"])
def test_a_single_appointment(client: TestClient, state: AppState, status: str) -> None:
    pid = with_history(client)
    with counted(state) as seen:
        body = appointment(f"Patient/{pid}", status, "2026-06-10T09:00:00Z")
        assert post(client, "Appointment", body).status_code == 201
    name = "attended" if status == "fulfilled" else "noshow"
    assert len(seen) == budget(state, name), summary(seen)


def test_a_bundle_of_100_appointments_across_100_families(
    client: TestClient, state: AppState
) -> None:
    kids = [
        {"resource": patient(), "request": {"method": "POST", "url": "Patient"}} for _ in range(100)
    ]
    r = client.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "transaction", "entry": kids},
        headers=FHIR_JSON,
    )
    ids = [e["response"]["location"].split("/")[1] for e in r.json()["entry"]]
    entries = [
        {
            "resource": appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z"),
            "request": {"method": "POST", "url": "Appointment"},
        }
        for pid in ids
    ]
    with counted(state) as seen:
        r = client.post(
            "/fhir",
            json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
            headers=FHIR_JSON,
        )
        assert r.status_code == 200, r.text
    assert len(seen) == budget(state, "bundle"), summary(seen)


def test_a_search(client: TestClient, state: AppState) -> None:
    pid = with_history(client)
    with counted(state) as seen:
        r = client.get("/fhir/Appointment", params={"patient": pid, "_count": 10})
        assert r.status_code == 200
    assert len(seen) == budget(state, "search"), summary(seen)
