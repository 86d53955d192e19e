"""Writes in psycopg's pipeline mode (`bulk.pipelined`): what lands is what was written, in
any row count (COPY falls back to unnest inside a pipeline); a statement that returns rows is
refused rather than reading nothing; a unique-key race comes out as SQLAlchemy's
IntegrityError (the unit of work retries it) and a lost connection as a disconnect (503)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.runtime import AppState
from app.store.bulk import (
    COPY_FROM,
    _writes_only,
    insert_returning_pks,
    insert_rows,
    pipelined,
)
from app.store.db import make_engine, make_session_factory
from app.store.models import Resource, SearchIndex
from tests.conftest import settings_for

pytestmark = pytest.mark.postgres_only("psycopg's pipeline mode")

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _resource(name: str) -> dict[str, object]:
    return {"type": "Basic", "id": name, "version": 1, "last_updated": NOW, "sort_date": None,
            "patient_id": None, "content": '{"resourceType": "Basic"}'}  # fmt: skip


def _values(pk: int, count: int) -> list[dict[str, object]]:
    return [
        {"resource_pk": pk, "type": "Basic", "param": "code", "system": None, "code": str(i)}
        for i in range(count)
    ]


def test_writes_land_whole_and_a_read_is_refused(state: AppState) -> None:
    with state.writer() as s:
        with pipelined(s):
            [pk] = insert_returning_pks(
                s, Resource.__table__, [_resource("pipe-1")], ("type", "id")
            )
            insert_rows(s, SearchIndex.__table__, _values(pk, 2 * COPY_FROM))  # no COPY here
            with pytest.raises(RuntimeError, match="returns rows inside a pipeline"):
                s.execute(select(Resource.pk).where(Resource.id == "pipe-1")).first()
        count = s.scalar(select(func.count()).where(SearchIndex.resource_pk == pk))
        assert count == 2 * COPY_FROM
        s.rollback()


def test_a_unique_key_race_is_an_integrity_error(state: AppState) -> None:
    with state.writer() as s:
        insert_returning_pks(s, Resource.__table__, [_resource("pipe-2")], ("type", "id"))
        with pytest.raises(IntegrityError), pipelined(s):
            insert_rows(s, Resource.__table__, [_resource("pipe-2")])  # the same (type, id)
        s.rollback()


@pytest.mark.own_connections("a backend terminated under its own engine")
def test_a_connection_lost_in_a_pipeline_is_a_disconnect(database_url: str) -> None:
    engine = make_engine(settings_for(database_url))
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        with make_session_factory(engine)() as s:
            pid = s.scalar(text("SELECT pg_backend_pid()"))
            with pytest.raises(DBAPIError) as lost, pipelined(s):
                insert_rows(s, Resource.__table__, [_resource("pipe-3")])
                with admin.connect() as conn:
                    conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            assert lost.value.connection_invalidated  # answered 503, never 500
    finally:
        admin.dispose()
        engine.dispose()


def test_the_service_engine_carries_the_guard_and_a_read_outside_a_block_runs(
    state: AppState, foreign_session: Session
) -> None:
    """The guard is on the service's engine from its start (no listener put on and taken
    off around each block) and refuses only inside a block; another engine's block puts it on
    its connection for the block's span."""
    assert event.contains(state.engine, "before_cursor_execute", _writes_only)
    with state.writer() as s:
        connection = s.connection()
        with pipelined(s):
            assert not event.contains(connection, "before_cursor_execute", _writes_only)
            with pytest.raises(RuntimeError, match="returns rows inside a pipeline"):
                s.execute(select(func.count()).select_from(Resource))
        assert s.scalar(select(func.count()).select_from(Resource)) is not None
        s.rollback()
    s = foreign_session
    connection = s.connection()
    with pipelined(s):
        assert event.contains(connection, "before_cursor_execute", _writes_only)
        with pytest.raises(RuntimeError, match="returns rows inside a pipeline"):
            s.execute(select(func.count()).select_from(Resource))
    assert not event.contains(connection, "before_cursor_execute", _writes_only)
    assert s.scalar(select(func.count()).select_from(Resource)) is not None
