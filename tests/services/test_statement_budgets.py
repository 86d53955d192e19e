"""Statements per interaction, pinned: round trips dominate on these machines, so a change that
adds one to a hot path fails here. Counted with a SQLAlchemy listener over the whole request
(token check, write, audit, reconciliation, commit), on each database.

Why these budgets (PostgreSQL, where every statement is a round trip, except an update's
writes that read nothing back: those go in a psycopg pipeline, one round trip per pipeline;
reconciliation's are one statement, see the last test):
- an attended Appointment POST, 10: the child's reference checked and its birth date read in
  one query, the identity keys' owners (2); the resource with its version, search values,
  coded event and any identity keys (1: one statement on PostgreSQL for fewer than 32 new
  resources, each table's insert a data-modifying CTE, since 2026-12-07; 4 before);
  reconciliation:
  the families locked, then read with their members' records (2), the family's events and
  statuses (2), the children's flags with their stored FHIR Flags' versions (1); the audit
  record with its entities (1: one statement on PostgreSQL since 2026-12-06, two before).
  The token's client check is cached outside tests (auth_cache_seconds is 0 here: the 10th);
- a noshow POST for a child with history, 11: the same, plus one flag changed: its row, its
  FHIR Flag's current row and version row, with the family's next deadline (a mark, in
  one statement of data-modifying CTEs on PostgreSQL since 2026-12-07,
  `app/store/combined.py`; 4 before, the mark among them), and the notifier's one:
  the subscription stamp (the live subscriptions are kept in memory while it stays the same,
  app/notify/live.py; the flag's areas come from the Patient and events reconciliation
  already read; a subscription it is for adds its event number and the outbox row). New
  evidence on an open concern leaves the Flag's search values as they were, so they are not
  written again; a change of status or period writes them (2 more). Was 21 until 2026-12-06:
  the search values were deleted and inserted on every change, and the areas and the
  subscriptions were read on every change;
- a transaction Bundle of 100 appointments across 100 families, 13: exactly one appointment's
  statements before 2026-12-07, since every step is one statement for the whole batch
  (executemany or COPY; a batch this size keeps one insert per table, COPY being cheaper);
- a transaction Bundle correcting 40 children's misses to attended, withdrawing their 40
  concerns, 26: the appointments' new versions (search values, identity keys and coded
  events replaced), the 40 flag rows, their Flags' next versions with search values replaced
  (status and period change; the flag rows' update, the Flags' current rows' and the
  deadlines' marks one statement since 2026-12-07, 28 before), and the 40 system reviews
  in one statement (one each, and a lookup of the flags' keys, until 2026-12-06: 70), and
  the notifier's stamp;
- a search, 3: the client check, the page, and the audit record with its entity.
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
from psycopg import pq
from sqlalchemy import event, select

from app.runtime import AppState
from app.store.models import FlagReview, RaisedFlag, Resource
from tests.factories import FHIR_JSON, appointment, child, missed, patient, post

# The budgets count what a request sends: a savepoint per session would add two statements.
pytestmark = pytest.mark.own_connections("counts the statements a request sends")

# (sqlite, postgres): SQLite sends BEGIN / BEGIN IMMEDIATE as statements of its own.
BUDGETS = {
    "attended": (16, 10),
    "noshow": (20, 11),
    "bundle": (115, 13),
    "bundle_withdrawals": (31, 26),
    "search": (6, 3),
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


def transaction(client: TestClient, resources: list[dict[str, Any]]) -> list[str]:
    """POST the resources in one transaction Bundle; the ids they were stored under."""
    entries = [
        {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in resources
    ]
    r = client.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        headers=FHIR_JSON,
    )
    assert r.status_code == 200, r.text
    return [e["response"]["location"].split("/")[1] for e in r.json()["entry"]]


def test_a_bundle_withdrawing_40_concerns_writes_their_reviews_at_once(
    client: TestClient, state: AppState
) -> None:
    """Forty unreviewed concerns withdrawn by one Bundle (each child's second miss corrected
    to attended): forty system reviews, in one statement (COPY on PostgreSQL from 32 rows),
    each naming its flag and the Flag version it was written with."""
    ids = transaction(client, [patient() for _ in range(40)])
    transaction(
        client,
        [
            appointment(f"Patient/{pid}", "noshow", f"2026-06-{day}T09:00:00Z", ident=f"{n}-{day}")
            for n, pid in enumerate(ids)
            for day in (10, 12)
        ],
    )
    corrected = [
        appointment(f"Patient/{pid}", "fulfilled", "2026-06-12T09:00:00Z", ident=f"{n}-12")
        for n, pid in enumerate(ids)
    ]
    with counted(state) as seen:
        transaction(client, corrected)
    assert len(seen) == budget(state, "bundle_withdrawals"), summary(seen)
    assert (
        Counter(seen)["INSERT INTO flag_review (flag_pk,"]
        + Counter(seen)["COPY flag_review (flag_pk, at,"]
        == 1
    ), summary(seen)

    def reviews(s: Any) -> list[tuple[str, str, str, int, int]]:
        rows = s.execute(
            select(
                RaisedFlag.child_id,
                FlagReview.action,
                RaisedFlag.state,
                FlagReview.flag_version,
                Resource.version,
            )
            .join(FlagReview, FlagReview.flag_pk == RaisedFlag.pk)
            .join(Resource, (Resource.type == "Flag") & (Resource.id == RaisedFlag.flag_id))
            .where(RaisedFlag.child_id.in_(ids))
        ).all()
        return [tuple(r) for r in rows]

    got = state.read(reviews)
    assert sorted(c for c, *_ in got) == sorted(ids)
    assert {(a, st) for _, a, st, _, _ in got} == {("withdraw", "withdrawn")}
    assert all(written == current for *_, written, current in got)


def test_a_search(client: TestClient, state: AppState) -> None:
    pid = with_history(client)
    with counted(state) as seen:
        r = client.get("/fhir/Appointment", params={"patient": pid, "_count": 10})
        assert r.status_code == 200
    assert len(seen) == budget(state, "search"), summary(seen)


@pytest.mark.postgres_only("the driver's one-statement writes")
def test_a_noshows_writes_go_in_two_round_trips(client: TestClient, state: AppState) -> None:
    """A noshow's writes are two statements: the Appointment's row with its version, search
    values and coded event (reading back its key), and the concern's row with its Flag's row
    and the Flag's version row and the family's next deadline (`app/store/combined.py`),
    where the last four went as four statements, three of them in a psycopg pipeline, until
    2026-12-07 (entering and leaving one costs about as much client CPU as a statement)."""
    pid = with_history(client)
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        status = conn.connection.driver_connection.pgconn.pipeline_status
        words = statement.replace("(", " ").split()
        seen.append(
            (
                " ".join(words[:6] if words[0] == "WITH" else words[:3]),
                status != pq.PipelineStatus.OFF,
            )
        )

    event.listen(state.engine, "before_cursor_execute", record)
    try:
        body = appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z")
        assert post(client, "Appointment", body).status_code == 201
    finally:
        event.remove(state.engine, "before_cursor_execute", record)
    writes = [s for s, _ in seen if not s.startswith("SELECT")]
    # The Appointment with everything that names it, the audit record, and the mark of its
    # next deadline with the concern's row, its Flag's row and the Flag's version: three
    # statements, each alone.
    assert writes == [
        "WITH added AS INSERT INTO resource",
        "WITH added AS INSERT INTO audit_event",  # the audit record with its entities
        "WITH w0 AS INSERT INTO reconcile_due",  # then the concern's three writes
    ], summary([s for s, _ in seen])
    assert not any(p for _, p in seen)  # one statement needs no pipeline
