"""Concurrent posts of one appointment make one resource and one event, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.runtime import AppState
from tests.dbcheck import count_resources, events
from tests.factories import FHIR_JSON, appointment, nhs_number, patient
from tests.live_server import serve

pytestmark = pytest.mark.own_connections("concurrent requests to a real server")


def test_concurrent_posts_of_one_identifier(state: AppState, role_tokens: dict[str, str]) -> None:
    headers = {**FHIR_JSON, "Authorization": f"Bearer {role_tokens['source']}"}
    with serve(state) as base, httpx.Client(base_url=base, headers=headers) as http:
        pid = http.post("/fhir/Patient", json=patient(nhs_number())).json()["id"]
        bodies = [
            appointment(
                f"Patient/{pid}",
                "noshow" if n % 2 else "booked",
                ident="race",
                comment=f"attempt {n}",
            )
            for n in range(8)
        ]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(lambda b: http.post("/fhir/Appointment", json=b).status_code, bodies)
            )
    assert sorted(statuses).count(201) == 1, statuses
    assert set(statuses) <= {200, 201}
    assert count_resources(state, "Appointment") == 1
    assert len(events(state)) == 1


def test_concurrent_posts_of_one_patient(state: AppState, role_tokens: dict[str, str]) -> None:
    nhs = nhs_number()
    headers = {**FHIR_JSON, "Authorization": f"Bearer {role_tokens['source']}"}
    with (
        serve(state) as base,
        httpx.Client(base_url=base, headers=headers) as http,
        ThreadPoolExecutor(6) as pool,
    ):
        statuses = list(
            pool.map(
                lambda n: http.post("/fhir/Patient", json=patient(nhs, given=f"G{n}")).status_code,
                range(6),
            )
        )
    assert set(statuses) <= {200, 201} and statuses.count(201) == 1, statuses
    assert count_resources(state, "Patient") == 1
