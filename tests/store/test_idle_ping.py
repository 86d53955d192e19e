"""A pooled PostgreSQL connection is pinged before use only after sitting idle
(`db_ping_after_idle_seconds`): one that went away while idle is replaced before a request
sees it, and one in steady use costs no extra round trip. One found dead without a ping fails
the request that found it, and the pool is renewed for the next."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from app.store.db import make_engine
from tests.conftest import settings_for

pytestmark = [
    pytest.mark.postgres_only("server backends to terminate"),
    pytest.mark.own_connections("an engine of its own"),
]


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    """The server ends this one backend (as a restart or an idle timeout would)."""
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ended = conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            assert ended.scalar_one() is True
    finally:
        admin.dispose()


def _counted_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_that_went_away_while_idle_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(settings_for(database_url, db_ping_after_idle_seconds=0))
    try:
        pings = _counted_pings(engine, monkeypatch)
        first = _backend(engine)
        assert pings == []  # a new connection needs no ping
        _terminate(engine, first)
        second = _backend(engine)  # no error: the ping found it dead and it was replaced
        assert second != first
        assert len(pings) == 1
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_a_dead_one_renews_the_pool(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(settings_for(database_url, db_ping_after_idle_seconds=3600))
    try:
        pings = _counted_pings(engine, monkeypatch)
        first = _backend(engine)
        assert {_backend(engine) for _ in range(5)} == {first}
        assert pings == []  # used a moment ago each time: no round trip spent on a ping
        _terminate(engine, first)
        with pytest.raises(DBAPIError) as found:
            _backend(engine)
        assert found.value.connection_invalidated  # answered 503 by the API, never 500
        assert _backend(engine) != first  # the pool was renewed
    finally:
        engine.dispose()
