"""A prebuilt query run on the driver (PostgreSQL) gives the rows SQLAlchemy gives for the same
statement: the same values of the same types (times with their zone, JSON lists parsed), by
column name and in column order. SQLite runs it through SQLAlchemy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.runtime import AppState, build_state
from app.services.common.writes import WriteRequest
from app.services.records.ingest import write_resources
from app.store import family_repo, flags_repo, resources_repo, rules_repo, subscriptions_repo
from app.store.prebuilt import PLANNED_KEYS, Prebuilt, padded
from tests.conftest import Databases, settings_for
from tests.factories import appointment, child, missed, patient


def _both(session: Session, query: Prebuilt[Any], params: dict[str, Any]) -> tuple[Any, Any]:
    connection = session.connection()
    statement = query.for_session_dialect(connection.dialect.name == "postgresql")
    through_sqlalchemy = [tuple(r) for r in connection.execute(statement, params)]
    return [tuple(r) for r in query.rows(session, params)], through_sqlalchemy


def test_each_hot_query_reads_what_sqlalchemy_reads(client: TestClient, state: AppState) -> None:
    pid = child(client, "2020-03-01")
    missed(client, pid, "2026-05-20")
    missed(client, pid, "2026-06-02")
    queries: list[tuple[Prebuilt[Any], dict[str, Any]]] = [
        (rules_repo._EVENTS_OF_CHILDREN, {"ids": [pid]}),
        (rules_repo._STATUSES_OF, {"ids": [pid]}),
        (resources_repo._PATIENT_BIRTHS, {"ids": [pid, "nobody"]}),
        (resources_repo._EXISTING_IDS, {"type": "Patient", "ids": [pid]}),
        (family_repo._LOCK_FAMILIES_OF, {"ids": [pid]}),
        (subscriptions_repo._STAMP, {}),
        (flags_repo._FLAGS_OF_CHILDREN, {"ids": [pid]}),
    ]

    def check(s: Session) -> None:
        for query, params in queries:
            driver, sqlalchemy = _both(s, query, params)
            assert driver == sqlalchemy
            assert [tuple(map(type, r)) for r in driver] == [
                tuple(map(type, r)) for r in sqlalchemy
            ]
            # Times in the same zone object too (`UtcDateTime`'s processing is called
            # directly on the driver path).
            assert [tuple(getattr(v, "tzinfo", None) for v in r) for r in driver] == [
                tuple(getattr(v, "tzinfo", None) for v in r) for r in sqlalchemy
            ]
        events = rules_repo.events_of_children(s, [pid])
        assert len(events) == 2 and events[0].child_id == pid
        assert events[0].event_at.utcoffset() is not None  # a time with its zone
        families = family_repo.families_of(s, [pid])
        members = family_repo.members_with_records(s, families.values())
        assert {m.patient_id for m in members} >= {pid}
        assert all(isinstance(m.content, str) for m in members if m.patient_id == pid)
        [concern], stored = flags_repo.flags_of_children(s, [pid])
        assert isinstance(concern.evidence_events, list) and len(concern.evidence_events) == 2
        assert stored[concern.flag_id].version == concern.flag_version

    state.read(check)


def test_a_key_longer_than_its_column_finds_nothing(client: TestClient, state: AppState) -> None:
    """A key is compared whole, never cast to its column's length first: cut to 64 it would
    find the resource whose id is its first 64 characters (a wrong owner, a wrong child)."""
    rid = "a" * 64
    r = client.put(f"/fhir/Patient/{rid}", json={**patient(), "id": rid})
    assert r.status_code in (200, 201), r.text
    missed(client, rid, "2026-05-20")

    def check(s: Session) -> None:
        assert len(rules_repo.events_of_children(s, [rid])) == 1
        assert resources_repo.existing_ids(s, "Patient", [rid]) == {rid}
        assert resources_repo.existing_ids(s, "Patient", [rid + "b"]) == set()
        assert resources_repo.existing_ids(s, "Patient", [rid + "b", "other"]) == set()
        assert rules_repo.events_of_children(s, [rid + "b"]) == []

    state.read(check)


def test_key_arrays_go_in_binary_and_any_key_is_sent_whole(
    client: TestClient, state: AppState
) -> None:
    """On PostgreSQL a key array is sent in binary (a text array costs an escaping pass per
    key): each key arrives as given, quotes, commas, braces, backslashes and the word NULL
    included, and finds only itself."""
    pid = child(client, "2020-03-01")
    odd = ['a"b', "c,d", "{e}", "f\\g", "NULL", "h i", ""]

    def check(s: Session) -> None:
        assert resources_repo.existing_ids(s, "Patient", [*odd, pid]) == {pid}
        assert resources_repo.existing_ids(s, "Patient", odd) == set()
        if s.connection().dialect.name == "postgresql":
            compiled = resources_repo._EXISTING_IDS._compile(s.connection())
            assert compiled.arrays and all(f"%({n})b" in compiled.sql for n in compiled.arrays)

    state.read(check)


def test_a_short_key_array_is_padded_with_its_last_key() -> None:
    assert padded(["a", "b"]) == ["a", "b"] + ["b"] * (PLANNED_KEYS - 2)
    assert len(padded(["a"])) == PLANNED_KEYS
    assert padded([]) == []  # nothing to look up: the callers send no statement
    many = [str(i) for i in range(PLANNED_KEYS + 1)]
    assert padded(iter(many)) == many


RUNS = 12  # psycopg prepares by the sixth run; PostgreSQL plans the next five for their keys


@pytest.mark.own_connections("a database of its own: ANALYZE's counts outlive a rollback")
def test_a_hot_lookup_is_planned_once_not_on_every_run(
    databases: Databases, tmp_path: Path
) -> None:
    """PostgreSQL keeps a prepared statement's generic plan (made for ten keys) only while it
    costs less than the plans made for the keys given: with two keys, on an analyzed table
    of other children's events, every run would be planned again. The lookup is sent ten
    keys, so after PostgreSQL's five plans for them it runs on its one plan, rows unchanged."""
    if not databases.postgres:
        pytest.skip("plans are PostgreSQL's")
    url, drop = databases.new(tmp_path)
    own = build_state(settings_for(url))
    try:
        ctx = own.write_context()
        made = own.write(
            lambda s: write_resources(
                s, [WriteRequest(type="Patient", data=patient()) for _ in range(2)], ctx
            )
        )
        pids = [r.id for r in made]
        misses = [
            WriteRequest(type="Appointment", data=appointment(f"Patient/{pid}")) for pid in pids
        ]
        own.write(lambda s: write_resources(s, misses, ctx))
        with own.writer() as session:
            # Other children's events, as a store holds: the plan made for two keys is then
            # cheaper than one for ten, as it is in a service under load.
            session.execute(
                text(
                    "INSERT INTO coded_event (resource_pk, resource_type, resource_id, "
                    "child_id, event_at, category, outcome_system, outcome_code, is_child, "
                    "original_codes, recorded_at) SELECT (SELECT min(resource_pk) FROM "
                    "coded_event), 'Appointment', 'other-' || g, 'other-' || g, now(), "
                    "'attended', 's', 'c', true, '[]', now() FROM generate_series(1, 20000) g"
                )
            )
            session.commit()
            session.execute(text("ANALYZE coded_event"))
            for _ in range(RUNS):
                found = rules_repo.events_of_children(session, pids)
                assert sorted(e.child_id for e in found) == sorted(pids)
            generic, custom = session.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE 'SELECT coded_event.pk%'"
                )
            ).one()
    finally:
        own.engine.dispose()
        drop()
    # PostgreSQL plans a prepared statement's first five runs for their keys; every later
    # run used the one generic plan (never planned again). Without the padding every
    # prepared run is planned for its keys: custom 7-9, generic 0.
    assert custom <= 5 and generic >= 1
