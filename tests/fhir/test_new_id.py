"""New ids sort by the time they were made (UUID version 7), so inserts grow each index at
its right edge: proved on the generator and on what a POST stores."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.fhir.new_id import time_ordered_uuid
from app.runtime import AppState
from app.store.models import AuditRecord, Family, RaisedFlag
from tests.factories import child, missed


def _next_millisecond() -> None:
    """Wait on the clock itself (not a fixed pause) until a new millisecond begins."""
    start = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 == start:
        pass


def test_an_id_is_a_version_7_uuid_carrying_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = time_ordered_uuid()
    after = time.time_ns() // 1_000_000
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after
    assert uuid.UUID(str(made)) == made and uuid.UUID(made.hex) == made


def test_ids_of_later_milliseconds_sort_after_earlier_ones_as_text() -> None:
    made = []
    for _ in range(20):
        made.append(time_ordered_uuid())
        _next_millisecond()
    assert [str(u) for u in made] == sorted(str(u) for u in made)
    assert [u.hex for u in made] == sorted(u.hex for u in made)


def test_ids_of_one_millisecond_differ() -> None:
    made = {time_ordered_uuid() for _ in range(10_000)}
    assert len(made) == 10_000


def test_stored_resources_flags_families_and_audit_records_get_time_ordered_ids(
    client: TestClient, state: AppState
) -> None:
    first = child(client)
    _next_millisecond()
    appointment = missed(client, first, "2026-01-05")
    ids = [uuid.UUID(first), uuid.UUID(appointment)]
    assert [u.version for u in ids] == [7, 7]
    assert str(ids[0]) < str(ids[1])

    def stored(session: Session) -> tuple[list[str], list[str], list[str]]:
        return (
            list(session.scalars(select(RaisedFlag.flag_id))),
            list(session.scalars(select(Family.family_id))),
            list(session.scalars(select(AuditRecord.id))),
        )

    flags, families, audits = state.read(stored)
    assert flags and families and audits
    assert {uuid.UUID(f).version for f in flags} == {7}
    assert {uuid.UUID(f.removeprefix("fam-")).version for f in families} == {7}
    assert {uuid.UUID(a).version for a in audits} == {7}
