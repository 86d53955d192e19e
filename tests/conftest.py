"""Shared fixtures: every database test runs on a SQLite file and on PostgreSQL, with the schema
built by the Alembic migrations, and the tables emptied after each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.main import create_app
from app.runtime import AppState, build_state
from app.settings import Settings
from app.store.migrate import upgrade_head
from app.store.models import Base

POSTGRES_ADMIN_URL = os.environ.get(
    "WNB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _postgres_database() -> Iterator[str]:
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"wnb_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "wnb.db"
        url = f"sqlite:///{path}"
        upgrade_head(url)
        yield url
        return
    gen = _postgres_database()
    url = next(gen)
    upgrade_head(url)
    yield url
    gen.close()


@pytest.fixture(scope="session")
def session_state(database_url: str) -> Iterator[AppState]:
    state = build_state(Settings(database_url=database_url, base_url="http://testserver"))
    yield state
    state.engine.dispose()


@pytest.fixture
def state(session_state: AppState) -> Iterator[AppState]:
    session_state.clock = lambda: FIXED_NOW
    yield session_state
    _empty_tables(session_state)


def _empty_tables(state: AppState) -> None:
    with state.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def client(state: AppState) -> Iterator[TestClient]:
    with TestClient(create_app(state=state)) as c:
        yield c
