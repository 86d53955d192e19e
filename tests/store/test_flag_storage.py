"""How PostgreSQL stores a concern (migration 0022): its Flag's versions compressed with lz4,
and new evidence written into its `raised_flag` row without touching the table's indexes."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.runtime import AppState
from app.store.migrate import alembic_config
from tests.factories import child, missed
from tests.store.test_migration_0008 import empty_url  # noqa: F401  (the fixture)


def _postgres_only(state: AppState) -> None:
    if state.engine.dialect.name != "postgresql":
        pytest.skip("compression and fillfactor are PostgreSQL's")


def _scalar(state: AppState, sql: str) -> Any:
    with state.reader() as s:
        return s.execute(text(sql)).scalar()


def _concern_of(state: AppState, pid: str) -> str:
    with state.reader() as s:
        return str(
            s.execute(
                text("SELECT flag_id FROM raised_flag WHERE child_id = :c AND is_open"), {"c": pid}
            ).scalar_one()
        )


def test_a_concerns_flag_is_compressed_with_lz4(client: TestClient, state: AppState) -> None:
    _postgres_only(state)
    if not _scalar(
        state,
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'",
    ):
        pytest.skip("this PostgreSQL was built without lz4")
    pid = child(client, birth="2025-06-01")
    for day in ("2026-01-05", "2026-02-05", "2026-03-05", "2026-04-05"):
        missed(client, pid, day, service="gp")
    flag_id = _concern_of(state, pid)
    with state.reader() as s:
        methods = s.execute(
            text(
                "SELECT octet_length(content) > 2100, pg_column_compression(content) "
                "FROM resource_version WHERE type = 'Flag' AND id = :f "
                "UNION ALL SELECT octet_length(content) > 2100, pg_column_compression(content) "
                "FROM resource WHERE type = 'Flag' AND id = :f"
            ),
            {"f": flag_id},
        ).all()
    # Values past PostgreSQL's 2 kB threshold are compressed (every one here is past it).
    assert methods and {method for wide, method in methods if wide} == {"lz4"}, methods
    with state.reader() as s:
        columns = s.execute(
            text(
                "SELECT attrelid::regclass::text || '.' || attname, attcompression "
                "FROM pg_attribute WHERE (attrelid, attname) IN (('resource'::regclass, "
                "'content'), ('resource_version'::regclass, 'content'), ('raised_flag'::regclass,"
                " 'reasons'), ('raised_flag'::regclass, 'evidence_events'))"
            )
        ).all()
    assert dict(columns) == dict.fromkeys(
        [
            "resource.content",
            "resource_version.content",
            "raised_flag.reasons",
            "raised_flag.evidence_events",
        ],
        "l",
    )


def test_new_evidence_updates_the_concern_row_in_place(client: TestClient, state: AppState) -> None:
    """A heap-only update: none of the columns new evidence changes is indexed, and the page
    has room for the row's new version, so none of the table's six indexes gets an entry.
    The room is the table's fillfactor; a page in this test has room without it, so what the
    update itself shows is that it changes no indexed column."""
    _postgres_only(state)
    options = _scalar(state, "SELECT reloptions FROM pg_class WHERE oid = 'raised_flag'::regclass")
    assert "fillfactor=50" in (options or [])
    pid = child(client, birth="2025-06-01")
    missed(client, pid, "2026-01-05", service="gp")
    missed(client, pid, "2026-02-05", service="gp")
    _concern_of(state, pid)
    count = (
        "SELECT pg_stat_get_xact_tuples_updated('raised_flag'::regclass) * 1000 "
        "+ pg_stat_get_xact_tuples_hot_updated('raised_flag'::regclass)"
    )
    before = _scalar(state, count)
    missed(client, pid, "2026-03-05", service="gp")
    updated, hot = divmod(_scalar(state, count) - before, 1000)
    assert updated >= 1
    assert hot == updated


def test_the_migration_goes_down_and_up_again(empty_url: str) -> None:  # noqa: F811
    config = alembic_config(empty_url)
    command.upgrade(config, "0022")
    command.downgrade(config, "0021")
    engine = create_engine(empty_url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                found = conn.execute(
                    text(
                        "SELECT attcompression FROM pg_attribute WHERE attrelid = "
                        "'resource'::regclass AND attname = 'content'"
                    )
                ).scalar()
                options = conn.execute(
                    text("SELECT reloptions FROM pg_class WHERE oid = 'raised_flag'::regclass")
                ).scalar()
            assert found == "" and options is None
        command.upgrade(config, "0022")
    finally:
        engine.dispose()
