"""psycopg keeps the conversion of our statements (`driver.keep_conversions`): a single
write's largest statement (its resource with its dependents, 67 parameters) was converted
again on every run, its own bounds being 50 parameters and 4,096 bytes. PostgreSQL only
(SQLite has no psycopg)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg._queries
import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.store.driver import KEPT_BYTES, KEPT_PARAMETERS
from tests.factories import appointment
from tests.services.test_statement_budgets import post, with_history

pytestmark = pytest.mark.postgres_only("psycopg converts PostgreSQL's statements")


@pytest.fixture
def converted_again() -> Iterator[list[tuple[int, int]]]:
    """(bytes, placeholders) of each statement psycopg converts without keeping it."""
    queries: Any = psycopg._queries
    seen: list[tuple[int, int]] = []
    original = queries._query2pg_nocache

    def spy(query: bytes, encoding: str) -> Any:
        seen.append((len(query), query.count(b"%")))
        return original(query, encoding)

    queries._query2pg_nocache = spy
    try:
        yield seen
    finally:
        queries._query2pg_nocache = original


def test_the_service_raises_psycopgs_bounds(state: AppState) -> None:
    """Made with the engine: a psycopg upgrade that renames its bounds fails here, loudly."""
    queries: Any = psycopg._queries
    assert queries.MAX_CACHED_STATEMENT_PARAMS >= KEPT_PARAMETERS
    assert queries.MAX_CACHED_STATEMENT_LENGTH >= KEPT_BYTES


def test_no_statement_of_a_single_write_is_converted_again(
    client: TestClient, state: AppState, converted_again: list[tuple[int, int]]
) -> None:
    pid = with_history(client)
    converted_again.clear()
    for day in ("2026-06-10", "2026-06-11"):
        body = appointment(f"Patient/{pid}", "noshow", f"{day}T09:00:00Z")
        assert post(client, "Appointment", body).status_code == 201
    assert converted_again == []
