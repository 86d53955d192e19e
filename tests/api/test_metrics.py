"""GET /metrics: Prometheus text for operators, open to loopback callers only."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, child
from tests.live_server import serve


@pytest.mark.own_connections("a real server")
def test_metrics_over_loopback(
    client: TestClient, state: AppState, role_tokens: dict[str, str]
) -> None:
    pid = child(client)
    with serve(state) as base, httpx.Client(base_url=base) as http:
        body = appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z")
        headers = {**FHIR_JSON, "Authorization": f"Bearer {role_tokens['source']}"}
        assert http.post("/fhir/Appointment", json=body, headers=headers).status_code == 201
        r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'wnb_requests_total{method="POST",route="/fhir/Appointment",status="201"} 1.0' in text
    assert 'wnb_request_statements_count{method="POST",route="/fhir/Appointment"} 1.0' in text
    # The write ran in its group's leader thread, counted against the request all the same.
    summed = r'wnb_request_statements_sum\{method="POST",route="/fhir/Appointment"\} (\S+)'
    sent = re.search(summed, text)
    assert sent is not None and float(sent.group(1)) >= 5
    assert "wnb_reconcile_backlog 0.0" in text
    assert "wnb_reconcile_lag_seconds" in text and "wnb_db_pool_checked_out" in text
    assert pid not in text  # route templates, never ids


def test_metrics_refused_to_other_callers(client: TestClient) -> None:
    r = client.get("/metrics")  # the test client is not a loopback address
    assert r.status_code == 403
    assert r.json()["resourceType"] == "OperationOutcome"
