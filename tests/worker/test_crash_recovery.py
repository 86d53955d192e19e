"""Nothing committed is lost: facts committed without their reconciliation (the process
killed before it ran) are finished by a worker started afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import AppState
from app.store.reconcile_models import ReconcileDue
from tests.auth_helpers import token_for
from tests.factories import FHIR_JSON, appointment, patient
from tests.live_server import free_port
from tests.services.test_rules_at_ingest import flags

pytestmark = pytest.mark.own_connections("a server process and a worker process")

START = "from app.cli import main; raise SystemExit(main())"


@contextmanager
def process(database_url: str, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environment = {
        **os.environ,
        "WNB_DATABASE_URL": database_url,
        "WNB_RUN_WORKER": "false",
        "WNB_LOG_LEVEL": "WARNING",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", START, *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.kill()  # SIGKILL: no shutdown hooks, no final commit
        proc.wait(timeout=10)


def wait_for(check: object, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_the_worker_finishes_what_a_killed_process_left(
    client: TestClient, state: AppState, database_url: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Reconciliation deferred to the worker: the facts commit with their durable mark only.
    with (
        process(database_url, "serve", "--port", str(port), WNB_RECONCILE_INLINE="false"),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        assert wait_for(lambda: _up(http))
        http.headers["Authorization"] = f"Bearer {token_for(state, http, role='source')}"
        made = http.post("/fhir/Patient", json=patient(), headers=FHIR_JSON)
        assert made.status_code == 201, made.text
        pid = made.json()["id"]
        for day in ("2026-11-20", "2026-11-24"):
            body = appointment(f"Patient/{pid}", "noshow", f"{day}T09:00:00Z")
            assert http.post("/fhir/Appointment", json=body, headers=FHIR_JSON).is_success
    # The process is gone (killed); what it committed is there, flags not yet.
    marks = state.read(lambda s: list(s.scalars(select(ReconcileDue.patient_id))))
    assert pid in marks
    assert "repeat-wnb" not in flags(client, pid)
    with process(database_url, "worker", WNB_DUE_CHECK_SECONDS="1"):
        assert wait_for(lambda: "repeat-wnb" in flags(client, pid)), "the worker never caught up"


def _up(http: httpx.Client) -> bool:
    try:
        return http.get("/health").status_code == 200
    except httpx.TransportError:
        return False
