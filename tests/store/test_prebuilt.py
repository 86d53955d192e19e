"""A prebuilt query run on the driver (PostgreSQL) gives the rows SQLAlchemy gives for the same
statement: the same values of the same types (times with their zone, JSON lists parsed), by
column name and in column order. SQLite runs it through SQLAlchemy."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.runtime import AppState
from app.store import family_repo, flags_repo, resources_repo, rules_repo, subscriptions_repo
from app.store.prebuilt import Prebuilt
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
