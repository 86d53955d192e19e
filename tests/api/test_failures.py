"""When the database fails or the code has a bug: the answer names no data, the log names no
data, and the service carries on by itself once the database is back. Both databases."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.main import create_app
from app.runtime import AppState, build_state
from tests.conftest import FIXED_NOW, settings_for
from tests.db_faults import (
    connection_lost_on,
    failing_on,
    new_resource_insert,
    terminate_all_connections,
)
from tests.dbcheck import count_resources
from tests.factories import FHIR_JSON, patient
from tests.live_server import free_port, serve
from tests.log_scan import Collector, personal_data


@contextmanager
def logged() -> Iterator[list[str]]:
    """Everything logged anywhere (uvicorn's error log included) while the block runs."""
    collector = Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector.lines
    finally:
        root.removeHandler(collector)


def admin(role_tokens: dict[str, str]) -> dict[str, str]:
    return {**FHIR_JSON, "Authorization": f"Bearer {role_tokens['admin']}"}


@pytest.mark.own_connections("a real server; the connection is lost mid-write")
def test_connection_lost_mid_write_is_503_logs_nothing_personal_and_recovers(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    child = patient(family="O'Brien", birth="2019-02-03")
    with (
        serve(state) as base,
        httpx.Client(base_url=base, headers=admin(role_tokens)) as http,
        logged() as lines,
    ):
        with connection_lost_on(state.engine, new_resource_insert(state.engine)):
            r = http.post("/fhir/Patient", json=child)
        after = http.post("/fhir/Patient", json=child)
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["issue"][0]["code"] == "transient"
    assert personal_data(lines) == []
    rid = r.headers["x-request-id"]
    assert any("OperationalError" in line and rid in line for line in lines), lines
    assert not any("Traceback" in line or "INSERT" in line for line in lines), lines
    assert after.status_code == 201, after.text  # the pool replaced the dead connection
    assert count_resources(state) == 1


@pytest.mark.own_connections("a real server")
def test_a_bug_is_500_with_a_request_id_and_the_log_has_its_type_only(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    def bug(cursor: Any) -> None:
        raise RuntimeError("a message quoting the row: Siobhan O'Brien 9434765919 2019-02-03")

    child = patient(family="O'Brien")
    with (
        serve(state) as base,
        httpx.Client(base_url=base, headers=admin(role_tokens)) as http,
        logged() as lines,
        failing_on(state.engine, new_resource_insert(state.engine), bug),
    ):
        r = http.post("/fhir/Patient", json=child)
    assert r.status_code == 500
    assert r.headers["x-content-type-options"] == "nosniff"  # the last resort's answer too
    rid = r.headers["x-request-id"]
    assert rid in r.json()["issue"][0]["diagnostics"]
    assert "Siobhan" not in r.text
    assert personal_data(lines) == [], lines
    [line] = [line for line in lines if "RuntimeError" in line]
    assert rid in line and "POST /fhir/Patient" in line
    assert count_resources(state) == 0


def test_log_lines_carry_the_route_template_not_the_path(client: TestClient) -> None:
    with logged() as lines:
        client.get("/fhir/Patient/some-id-that-is-not-there")
    [line] = [line for line in lines if line.startswith("wnb.access")]
    assert "/fhir/Patient/{rid}" in line and "some-id" not in line


def test_a_client_hanging_up_mid_body_is_not_an_error(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    app = create_app(state=state)
    headers = [
        (b"authorization", f"Bearer {role_tokens['admin']}".encode()),
        (b"content-type", b"application/fhir+json"),
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/fhir/Patient",
        "raw_path": b"/fhir/Patient",
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
        "app": app,
    }
    incoming = [
        {"type": "http.request", "body": b'{"resourceType": "Pat', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with logged() as lines:
        anyio.run(app, scope, receive, send)
    assert not any(line.startswith("wnb.api") and "unhandled" in line for line in lines), lines
    assert sent[0]["status"] == 400
    assert count_resources(state) == 0


@pytest.fixture
def database_away(database_url: str) -> Iterator[AppState]:
    """A process whose database is not there: a closed port, or a folder that does not exist."""
    if database_url.startswith("postgresql"):
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    else:
        url = "sqlite:////nonexistent-folder/wnb.db"
    away = build_state(settings_for(url))
    away.clock = lambda: FIXED_NOW  # the clock the session's tokens were issued by
    yield away
    away.engine.dispose()


def test_readiness_is_503_while_the_database_is_away_and_liveness_stays_200(
    database_away: AppState, role_tokens: dict[str, str]
) -> None:
    with TestClient(create_app(state=database_away)) as http, logged() as lines:
        live = http.get("/health/live")
        ready = http.get("/health/ready")
        read = http.get("/fhir/Patient", headers=admin(role_tokens))
    assert live.status_code == 200
    assert ready.status_code == 503 and int(ready.headers["retry-after"]) >= 1
    assert read.status_code == 503 and read.json()["resourceType"] == "OperationOutcome"
    assert personal_data(lines) == []


@pytest.mark.own_connections("every connection is terminated")
def test_service_resumes_after_the_database_restarts(state: AppState, client: TestClient) -> None:
    if state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to restart; the mid-write loss test covers it")
    assert client.get("/health/ready").status_code == 200
    assert terminate_all_connections(state.engine) >= 0
    assert client.get("/health/ready").status_code == 200
    assert client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).status_code == 201


def test_database_errors_never_carry_the_values_sent(state: AppState) -> None:
    with pytest.raises(DBAPIError) as caught:
        state.read(
            lambda s: s.execute(text("SELECT no_such_column WHERE 1 = :v"), {"v": "9434765919"})
        )
    assert "9434765919" not in str(caught.value)
