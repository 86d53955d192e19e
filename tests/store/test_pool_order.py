"""The service's PostgreSQL pool hands out the connection returned last (app/store/db.py): a
few connections carry the load, each with the hot statements prepared and planned once,
rather than every pooled connection preparing and planning each statement again."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

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
