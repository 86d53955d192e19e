"""Writes held in a `combined` block and sent as one statement land as if each had been sent
alone, in the order written: a second write to a table sends what is held first, anything
else sent in the block (a read through the session) finds the held writes already made, and
a failure leaves nothing held behind (hazard H-167)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.runtime import AppState
from app.store.bulk import Dependents, insert_returning_pks, insert_rows, insert_with_dependents
from app.store.combined import _send_held_first, combined
from app.store.db import make_engine, make_session_factory
from app.store.models import Resource, ResourceVersion
from app.store.reconcile_models import ReconcileDue
from app.store.row_updates import update_rows
from tests.conftest import settings_for

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def row(i: int, version: int = 1) -> dict[str, Any]:
    return {"type": "Basic", "id": f"c-{i}", "version": version, "last_updated": NOW,
            "sort_date": None, "patient_id": None, "content": f'{{"n": {i}}}'}  # fmt: skip


def history(i: int, version: int) -> dict[str, Any]:
    return {"type": "Basic", "id": f"c-{i}", "version": version, "last_updated": NOW,
            "method": "PUT", "content": f'{{"n": {i}, "v": {version}}}'}  # fmt: skip


def counting(s: Session) -> list[str]:
    """The statements the session sends from here (the test harness's savepoints left out)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(args[2])

    event.listen(s.connection(), "before_cursor_execute", record)
    return seen


def stored(state: AppState) -> tuple[dict[str, tuple[int, str]], set[tuple[str, int]]]:
    with state.reader() as s:
        current = {
            rid: (version, content)
            for rid, version, content in s.execute(
                select(Resource.id, Resource.version, Resource.content).where(
                    Resource.type == "Basic"
                )
            )
        }
        versions = {
            (rid, version)
            for rid, version in s.execute(
                select(ResourceVersion.id, ResourceVersion.version).where(
                    ResourceVersion.type == "Basic"
                )
            )
        }
    return current, versions


def test_writes_to_other_tables_go_as_one_statement_and_land(state: AppState) -> None:
    with state.writer() as s:
        pks = insert_returning_pks(s, Resource.__table__, [row(1), row(2)], ("type", "id"))
        s.commit()
    with state.writer() as s:
        seen = counting(s)
        with combined(s):
            update_rows(
                s,
                Resource.__table__,
                [{"pk": pk, "version": 2, "content": f'{{"n": {i}, "v": 2}}'}
                 for i, pk in ((1, pks[0]), (2, pks[1]))],
            )  # fmt: skip
            insert_rows(s, ResourceVersion.__table__, [history(1, 2), history(2, 2)])
            assert seen == [] or state.settings.is_sqlite  # held until the block ends
        s.commit()
    if not state.settings.is_sqlite:
        assert len(seen) == 1 and seen[0].startswith("WITH w0 AS (UPDATE")
    current, versions = stored(state)
    assert current == {"c-1": (2, '{"n": 1, "v": 2}'), "c-2": (2, '{"n": 2, "v": 2}')}
    assert versions == {("c-1", 2), ("c-2", 2)}


def test_a_second_write_to_a_table_comes_after_the_first(state: AppState) -> None:
    """Two updates of one row in one statement would leave either; held writes to one table
    are sent in turn, so the later one stands."""
    with state.writer() as s:
        [pk] = insert_returning_pks(s, Resource.__table__, [row(3)], ("type", "id"))
        s.commit()
    with state.writer() as s:
        seen = counting(s)
        with combined(s):
            update_rows(s, Resource.__table__, [{"pk": pk, "version": 2, "content": "{}"}])
            insert_rows(s, ResourceVersion.__table__, [history(3, 2)])
            update_rows(s, Resource.__table__, [{"pk": pk, "version": 3, "content": "[]"}])
            insert_rows(s, ResourceVersion.__table__, [history(3, 3)])
        s.commit()
    if not state.settings.is_sqlite:
        assert len(seen) == 2  # the first pair, then the second
    current, versions = stored(state)
    assert current == {"c-3": (3, "[]")}
    assert versions == {("c-3", 2), ("c-3", 3)}


def test_a_read_in_the_block_finds_the_held_writes_made(state: AppState) -> None:
    with state.writer() as s:
        [pk] = insert_returning_pks(s, Resource.__table__, [row(4)], ("type", "id"))
        s.commit()
    with state.writer() as s, combined(s):
        update_rows(s, Resource.__table__, [{"pk": pk, "version": 2, "content": "{}"}])
        assert s.scalar(select(Resource.version).where(Resource.pk == pk)) == 2
        # A statement that is a WITH itself is sent alone, after what is held.
        insert_rows(s, ResourceVersion.__table__, [history(4, 2)])
        assert insert_returning_pks(s, Resource.__table__, [row(5)], ("type", "id"))
        assert s.scalar(
            select(ResourceVersion.version).where(ResourceVersion.id == "c-4")
        ) == 2  # fmt: skip


def test_a_failure_leaves_nothing_held(state: AppState) -> None:
    with state.writer() as s:
        insert_rows(s, ResourceVersion.__table__, [history(6, 1)])
        s.commit()
    with state.writer() as s:
        with pytest.raises(IntegrityError), combined(s):
            insert_rows(s, Resource.__table__, [row(6)])
            insert_rows(s, ResourceVersion.__table__, [history(6, 1)])  # the same version
        s.rollback()
        assert "wnb_combined" not in s.connection().info
        # The session's next writes are sent as they come.
        insert_rows(s, Resource.__table__, [row(7)])
        s.commit()
    current, versions = stored(state)
    assert set(current) == {"c-7"} and versions == {("c-6", 1)}


@pytest.mark.parametrize("held_table", ["reconcile_due", "resource_version"])
def test_a_statement_that_is_a_with_takes_the_held_writes_ahead(
    state: AppState, held_table: str
) -> None:
    """New resources with their versions (`insert_with_dependents`, one WITH statement) take
    a held write to another table as a CTE of their own; a held write to one of their
    tables is sent first, alone. Either way each key belongs to its row and both land."""
    with state.writer() as s:
        seen = counting(s)
        with combined(s):
            if held_table == "reconcile_due":
                insert_rows(s, ReconcileDue.__table__, [{"patient_id": "p-8", "due_at": NOW}])
            else:
                insert_rows(s, ResourceVersion.__table__, [history(9, 1)])
            pks = insert_with_dependents(
                s, Resource.__table__, [row(8), row(10)], ("type", "id"),
                [Dependents(ResourceVersion.__table__, [(0, history(8, 1)), (1, history(10, 1))])],
            )  # fmt: skip
        ids = {
            pk: rid
            for pk, rid in s.execute(select(Resource.pk, Resource.id).where(Resource.pk.in_(pks)))
        }
        assert [ids[pk] for pk in pks] == ["c-8", "c-10"]
        due = s.scalar(select(ReconcileDue.patient_id).where(ReconcileDue.patient_id == "p-8"))
        s.commit()
    if not state.settings.is_sqlite:
        sent = [x.split("(")[0].split()[:4] for x in seen if not x.startswith("SELECT")]
        if held_table == "reconcile_due":
            assert len(sent) == 1 and seen[0].startswith("WITH w0 AS (INSERT INTO reconcile_due")
        else:
            # Two statements (the listeners see the WITH announced before the held write
            # that its announcement sends first).
            assert sorted(x[0] for x in sent) == ["INSERT", "WITH"]
    _, versions = stored(state)
    assert {("c-8", 1), ("c-10", 1)} <= versions
    assert (due == "p-8") == (held_table == "reconcile_due")
    assert (("c-9", 1) in versions) == (held_table == "resource_version")


@pytest.mark.postgres_only("a server process to end")
def test_a_connection_lost_with_writes_held_is_a_disconnect(database_url: str) -> None:
    """The held writes meet a dead connection at the block's end: the error is the
    disconnect (answered 503, the unit of work not run again), not one raised while the
    block tidies up, and the pooled connection keeps nothing held."""
    engine = make_engine(settings_for(database_url))
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        with make_session_factory(engine)() as s:
            pid = s.scalar(text("SELECT pg_backend_pid()"))
            record = s.connection().info
            with pytest.raises(DBAPIError) as lost, combined(s):
                insert_rows(s, Resource.__table__, [row(11)])
                with admin.connect() as conn:
                    conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            assert lost.value.connection_invalidated
            assert "wnb_combined" not in record
    finally:
        admin.dispose()
        engine.dispose()


def test_a_commit_with_writes_held_is_refused(state: AppState) -> None:
    """A COMMIT (or a savepoint's end) fires no statement event: the writes held would be
    lost with it, or sent after it, so it is refused, loudly, and nothing is committed."""
    with state.writer() as s:
        with pytest.raises(RuntimeError, match="inside a `combined` block"), combined(s):
            insert_rows(s, Resource.__table__, [row(12)])
            if state.settings.is_sqlite:  # nothing is held: each write goes as it comes
                raise RuntimeError("inside a `combined` block (SQLite holds nothing)")
            s.commit()
        s.rollback()
    current, _ = stored(state)
    assert "c-12" not in current


@pytest.mark.postgres_only("SQLite holds nothing")
def test_the_service_engine_carries_the_listeners_and_a_block_adds_none(state: AppState) -> None:
    """Attaching and removing a block's listeners cost 110-120 us a block: the service's
    engines carry them from the start, and they act only where a block is open."""
    assert event.contains(state.engine, "before_cursor_execute", _send_held_first)
    with state.writer() as s:
        connection = s.connection()
        with combined(s):
            assert not event.contains(connection, "before_cursor_execute", _send_held_first)
            insert_rows(s, Resource.__table__, [row(13)])
            assert s.scalar(select(Resource.version).where(Resource.id == "c-13")) == 1
        with pytest.raises(RuntimeError, match="inside a `combined` block"), combined(s):
            insert_rows(s, Resource.__table__, [row(14)])
            s.commit()
        s.rollback()
        insert_rows(s, Resource.__table__, [row(15)])  # no block open: sent as it comes
        s.commit()
    current, _ = stored(state)
    assert "c-15" in current and "c-14" not in current


@pytest.mark.postgres_only("SQLite holds nothing")
def test_a_block_on_another_engine_listens_for_its_own_span(foreign_session: Session) -> None:
    """An engine the service did not make (a script's, a test's) has no listeners of its
    own: the block puts them on its connection and takes them off again."""
    s = foreign_session
    connection = s.connection()
    with combined(s):
        assert event.contains(connection, "before_cursor_execute", _send_held_first)
        insert_rows(s, Resource.__table__, [row(16)])
        assert s.scalar(select(Resource.version).where(Resource.id == "c-16")) == 1
    assert not event.contains(connection, "before_cursor_execute", _send_held_first)
    with pytest.raises(RuntimeError, match="inside a `combined` block"), combined(s):
        insert_rows(s, Resource.__table__, [row(17)])
        s.commit()
