"""Query-shape errors are the client's (400 naming the parameter), and only a database that
is really away answers 503: a statement the database refuses is a bug (500), never an outage.
Both databases."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.db_faults import failing_on
from tests.factories import FHIR_JSON, patient
from tests.log_scan import Collector


def _refused(r: Any, status: int, where: str) -> None:
    assert r.status_code == status, r.text
    [issue] = r.json()["issue"]
    assert issue["expression"] == [where], issue


def test_thousands_of_repeats_are_400_naming_the_parameter(client: TestClient) -> None:
    r = client.get("/fhir/Patient", params=[("name", f"a{i}") for i in range(2000)])
    _refused(r, 400, "name")
    assert "retry-after" not in r.headers
    mixed = [("name", "a")] * 30 + [("name:contains", "b")] * 30  # one parameter to the database
    _refused(client.get("/fhir/Patient", params=mixed), 400, "name")


def test_too_many_comma_values_are_400(client: TestClient) -> None:
    many = ",".join(f"{i}" for i in range(101))
    _refused(client.get("/fhir/Patient", params={"identifier": many}), 400, "identifier")
    _refused(client.get("/fhir/Flag", params={"_id": many}), 400, "_id")
    _refused(client.get("/fhir/AuditEvent", params={"entity": many}), 400, "entity")


def test_a_very_long_value_is_400_naming_it(client: TestClient) -> None:
    long = "a" * 60_000
    _refused(client.get("/fhir/Patient", params={"name": long}), 400, "name")
    _refused(client.get("/fhir/Patient", params={"name:contains": long}), 400, "name")
    _refused(client.get("/api/worklist", params={"status": long}), 400, "status")


def test_searches_at_every_limit_answer_200(client: TestClient) -> None:
    assert client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).status_code == 201
    values = ",".join(f"v{i}" for i in range(100))
    widest = [
        *[("name", f"n{i},m{i}") for i in range(50)],
        ("family", values),
        ("given", values),
        ("identifier", values),
        ("_id", ",".join(f"id{i}" for i in range(100))),
        ("birthdate", "ge2000-01-01"),
    ]
    r = client.get("/fhir/Patient", params=widest)
    assert r.status_code == 200, r.text
    at_length = client.get("/fhir/Patient", params={"name:contains": "x" * 2048})
    assert at_length.status_code == 200, at_length.text


def _refused_statement(dialect: str) -> Any:
    """Send the database a statement it refuses, as an over-wide query once did: an
    expression nested too deep (SQLite), too many bound values (PostgreSQL)."""

    def fail(cursor: Any) -> None:
        if dialect == "sqlite":
            cursor.execute("SELECT 1 WHERE " + " OR ".join(["1 = 2"] * 2000))
        else:
            cursor.execute("SELECT 1 WHERE 1 IN (" + ",".join(["%s"] * 70_000) + ")", [1] * 70_000)

    return fail


def test_a_statement_the_database_refuses_is_500_not_503(
    state: AppState, client: TestClient
) -> None:
    collector = Collector()
    logging.getLogger().addHandler(collector)
    try:
        with failing_on(state.engine, "SELECT", _refused_statement(state.engine.dialect.name)):
            r = client.get("/fhir/Patient", params={"name": "a"})
    finally:
        logging.getLogger().removeHandler(collector)
    assert r.status_code == 500, r.text
    assert "retry-after" not in r.headers
    assert any("unhandled OperationalError" in line for line in collector.lines)
    assert not any("database unavailable" in line for line in collector.lines)
    assert client.get("/health/ready").status_code == 200
