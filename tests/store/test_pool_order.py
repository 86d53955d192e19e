"""The service's PostgreSQL pool hands out the connection returned last (app/store/db.py): a
few connections carry the load, each with the hot statements prepared and planned once,
rather than every pooled connection preparing and planning each statement again."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from app.runtime import build_state
from app.store import rules_repo
from app.store.db import make_engine
from tests.conftest import settings_for


def _backend(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_the_connection_returned_last_is_handed_out_first(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's pool")
    engine = make_engine(settings_for(database_url))
    try:
        with engine.connect() as first:
            with engine.connect() as second:
                earlier = _backend(second)
            later = _backend(first)  # `first` goes back to the pool after `second`
        with engine.connect() as next_one:
            assert _backend(next_one) == later != earlier
    finally:
        engine.dispose()


@pytest.mark.own_connections("a state of its own: its pool's connections observed")
def test_a_read_leaves_the_connections_prepared_statements(database_url: str) -> None:
    """A read ends with COMMIT: a rollback would make psycopg deallocate every statement it
    prepared on the connection, the connection the next write is handed."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's prepared statements")
    own = build_state(settings_for(database_url))
    try:
        with own.writer() as session:
            for _ in range(8):  # prepared on its sixth run
                rules_repo.events_of_children(session, ["nobody"])
            session.commit()
        own.read(lambda s: s.execute(text("SELECT 1")).scalar_one())
        prepared = own.read(
            lambda s: list(
                s.execute(text("SELECT statement FROM pg_prepared_statements")).scalars()
            )
        )
    finally:
        own.engine.dispose()
    assert any(p.startswith("SELECT coded_event.pk") for p in prepared)
