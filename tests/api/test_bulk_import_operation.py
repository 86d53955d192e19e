"""FHIR Bulk Data `$import` (issue 22): an NDJSON body answered 202 with a status URL, run by
the worker through the same batches as `wnb import`, then a manifest and the refused lines."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from app.auth.principal import Principal
from app.import_run import run_jobs
from app.main import create_app
from app.runtime import AppState
from app.services.intake import import_jobs
from app.store import import_repo
from tests.factories import appointment, nhs_number, patient

NDJSON = {"Content-Type": "application/fhir+ndjson"}


@pytest.fixture
def source(state: AppState, role_tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(state=state)) as c:
        c.headers["Authorization"] = f"Bearer {role_tokens['source']}"
        yield c


def test_an_import_is_queued_run_by_the_worker_and_reported(
    state: AppState, source: TestClient, client: TestClient
) -> None:
    pid = f"bulk-{uuid.uuid4().hex[:8]}"
    body = b"\n".join(
        [
            orjson.dumps({**patient(nhs_number()), "id": pid}),
            orjson.dumps({**appointment(f"Patient/{pid}"), "status": "bogus"}),
            orjson.dumps(appointment(f"Patient/{pid}", ident=f"{pid}-1")),
        ]
    )
    queued = source.post("/fhir/$import", content=body, headers=NDJSON)
    assert queued.status_code == 202, queued.text
    status_url = queued.headers["Content-Location"]
    assert status_url.startswith("http://testserver/fhir/$import-poll-status/")
    path = status_url.removeprefix("http://testserver")
    waiting = source.get(path)
    assert waiting.status_code == 202
    assert waiting.headers["X-Progress"] == "queued: 0 of 3 lines"
    assert run_jobs(state) == 1
    done = source.get(path)
    assert done.status_code == 200, done.text
    manifest = done.json()
    assert manifest["output"] == [
        {"type": "Appointment", "count": 1},
        {"type": "Patient", "count": 1},
    ]
    [error] = manifest["error"]
    assert error["count"] == 1
    lines = source.get(error["url"].removeprefix("http://testserver"))
    assert lines.headers["content-type"].startswith("application/fhir+ndjson")
    [outcome] = [json.loads(x) for x in lines.text.splitlines()]
    issue = outcome["issue"][0]
    assert issue["location"] == ["line 2"] and issue["expression"] == ["Appointment.status"]
    stored = client.get("/fhir/Appointment", params={"patient": pid}).json()
    assert len(stored["entry"]) == 1
    assert run_jobs(state) == 0  # nothing left to run


def test_import_refuses_a_json_body_an_unknown_job_and_a_caller_who_may_not_write(
    state: AppState, source: TestClient, client: TestClient, role_tokens: dict[str, str]
) -> None:
    json_type = {"Content-Type": "application/fhir+json"}
    wrong = source.post("/fhir/$import", content=b"{}", headers=json_type)
    assert wrong.status_code == 415
    assert source.get("/fhir/$import-poll-status/nope").status_code == 404
    one = orjson.dumps(patient(nhs_number()))
    queued = source.post("/fhir/$import", content=one, headers=NDJSON)
    path = queued.headers["Content-Location"].removeprefix("http://testserver")
    client.headers["Authorization"] = f"Bearer {role_tokens['nurse']}"
    assert client.post("/fhir/$import", content=b"{}", headers=NDJSON).status_code == 403
    assert client.get(path).status_code == 404  # another client's job


def test_a_job_whose_worker_died_is_taken_again_once_stale(
    state: AppState, source: TestClient
) -> None:
    one = orjson.dumps(patient(nhs_number()))
    queued = source.post("/fhir/$import", content=one, headers=NDJSON)
    path = queued.headers["Content-Location"].removeprefix("http://testserver")
    taken = state.write(lambda s: import_jobs.claim(s, state.clock()))
    assert taken is not None  # ... and its worker dies before a batch commits
    assert run_jobs(state) == 0  # running, and not stale yet: nobody else takes it
    assert source.get(path).headers["X-Progress"] == "running: 0 of 1 lines"
    now, later = state.clock, state.clock() + import_jobs.STALE + timedelta(seconds=1)
    state.clock = lambda: later
    assert run_jobs(state) == 1
    state.clock = now  # the test's token would have expired by `later`
    done = source.get(path)
    assert done.json()["output"] == [{"type": "Patient", "count": 1}], done.text


def test_a_job_of_a_client_revoked_since_ends_with_its_reason(state: AppState) -> None:
    one = orjson.dumps(patient(nhs_number()))
    job_id = state.write(
        lambda s: import_jobs.queue(s, Principal("client", "gone", "gone", "source"), one,
                                    state.clock())
    )
    assert run_jobs(state) == 1  # no such client: the job ends instead of failing for ever
    assert state.read(lambda s: import_repo.job_of(s, job_id)).status == "done"
    assert "No live client" in state.read(lambda s: import_repo.job_of(s, job_id)).errors
