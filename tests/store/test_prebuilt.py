"""A prebuilt query run on the driver (PostgreSQL) gives the rows SQLAlchemy gives for the same
statement: the same values of the same types (times with their zone, JSON lists parsed), by
column name and in column order. SQLite runs it through SQLAlchemy."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.runtime import AppState
from app.store import family_repo, flags_repo, resources_repo, rules_repo, subscriptions_repo
from app.store.prebuilt import PLANNED_KEYS, Prebuilt, padded
from tests.factories import child, missed


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


def test_a_short_key_array_is_padded_with_its_last_key() -> None:
    assert padded(["a", "b"]) == ["a", "b"] + ["b"] * (PLANNED_KEYS - 2)
    assert len(padded(["a"])) == PLANNED_KEYS


RUNS = 12  # psycopg prepares by the sixth run; PostgreSQL plans the next five for their keys


def test_a_hot_lookup_is_planned_once_not_on_every_run(client: TestClient, state: AppState) -> None:
    """PostgreSQL keeps a prepared statement's generic plan (made for ten keys) only if it is
    no dearer than the plans made for the keys given: with two keys, and tables analyzed,
    every run would be planned again. The lookup is sent ten keys, so from the sixth
    prepared run on it runs on its one plan, and its rows are the same."""
    if state.engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    pids = [child(client, "2020-03-01"), child(client, "2021-04-02")]
    for pid in pids:
        missed(client, pid, "2026-05-20")

    def run(s: Session) -> tuple[int, int]:
        # Other children's events, as a store holds: the plan made for two keys is then
        # cheaper than one for ten, as it is in a service under load.
        s.execute(
            text(
                "INSERT INTO coded_event (resource_pk, resource_type, resource_id, child_id, "
                "event_at, category, outcome_system, outcome_code, is_child, original_codes, "
                "recorded_at) SELECT (SELECT min(resource_pk) FROM coded_event), "
                "'Appointment', 'other-' || g, 'other-' || g, now(), 'attended', "
                "'s', 'c', true, '[]', now() FROM generate_series(1, 20000) AS g"
            )
        )
        s.execute(text("ANALYZE coded_event"))
        for _ in range(RUNS):
            found = rules_repo.events_of_children(s, pids)
            assert sorted(e.child_id for e in found) == sorted(pids)
        return s.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT coded_event.pk%'"
            )
        ).one()

    with state.writer() as session:
        # Counted from here: psycopg forgets what it prepared when it sees this too.
        session.execute(text("DEALLOCATE ALL"))
        generic, custom = run(session)
    # Prepared on the sixth run; PostgreSQL's first five runs are planned for their keys.
    # PostgreSQL's first five runs of a prepared statement are planned for their keys;
    # every later run used the one generic plan (never planned again).
    assert custom == 5 and generic >= 1
