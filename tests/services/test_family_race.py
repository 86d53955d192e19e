"""Two siblings' missed appointments arriving at the same instant raise exactly one family flag
per child, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, child, nhs_number, related_person
from tests.live_server import serve
from tests.services.test_rules_at_ingest import flags

pytestmark = pytest.mark.own_connections("racing requests to a real server")


def test_simultaneous_sibling_events(
    client: TestClient, state: AppState, role_tokens: dict[str, str]
) -> None:
    carer = nhs_number()
    kids = [child(client) for _ in range(3)]
    for pid in kids:
        client.post(
            "/fhir/RelatedPerson", json=related_person(f"Patient/{pid}", carer), headers=FHIR_JSON
        )
    headers = {**FHIR_JSON, "Authorization": f"Bearer {role_tokens['source']}"}
    start = threading.Barrier(len(kids))

    def post_miss(pid: str) -> int:
        body = appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z")
        with httpx.Client(base_url=base, headers=headers) as http:
            start.wait()
            return http.post("/fhir/Appointment", json=body).status_code

    with serve(state) as base, ThreadPoolExecutor(len(kids)) as pool:
        statuses = list(pool.map(post_miss, kids))
    assert statuses == [201] * len(kids)
    for pid in kids:
        flag = flags(client, pid)["family-wnb"]  # flags() fails on a second open flag
        members = {
            x["valueReference"]["reference"]
            for x in flag["extension"][0]["extension"]
            if x["url"] == "family-member"
        }
        assert members == {f"Patient/{k}" for k in kids if k != pid}


@pytest.fixture
def site(state: AppState) -> Iterator[str]:
    """One server for a test's five races (starting and stopping one costs about 0.2 s)."""
    with serve(state) as base:
        yield base


def _race(base: str, token: str, posts: list[tuple[str, dict[str, object]]]) -> list[int]:
    headers = {**FHIR_JSON, "Authorization": f"Bearer {token}"}
    start = threading.Barrier(len(posts))

    def send(item: tuple[str, dict[str, object]]) -> int:
        with httpx.Client(base_url=base, headers=headers) as http:
            start.wait()
            return http.post(f"/fhir/{item[0]}", json=item[1]).status_code

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(send, posts))


def test_a_sibling_link_racing_a_miss(
    client: TestClient, site: str, role_tokens: dict[str, str]
) -> None:
    """Whichever commits second sees the first: the family rule holds for both children."""
    for _ in range(5):
        carer = nhs_number()
        a, b = child(client), child(client)
        client.post(
            "/fhir/RelatedPerson", json=related_person(f"Patient/{a}", carer), headers=FHIR_JSON
        )
        client.post(
            "/fhir/Appointment",
            json=appointment(f"Patient/{a}", "noshow", "2026-06-05T09:00:00Z"),
            headers=FHIR_JSON,
        )
        statuses = _race(
            site,
            role_tokens["source"],
            [
                ("RelatedPerson", related_person(f"Patient/{b}", carer)),
                ("Appointment", appointment(f"Patient/{b}", "noshow", "2026-06-07T09:00:00Z")),
            ],
        )
        assert statuses == [201, 201]
        assert "family-wnb" in flags(client, a) and "family-wnb" in flags(client, b)


def test_a_status_racing_a_miss(client: TestClient, site: str, role_tokens: dict[str, str]) -> None:
    for _ in range(5):
        pid = child(client)
        plan = {
            "resourceType": "Flag",
            "status": "active",
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2026-01-01"},
            "code": {
                "coding": [
                    {
                        "system": "https://wnb.dev/fhir/CodeSystem/safeguarding-status",
                        "code": "cp-plan",
                    }
                ]
            },
        }
        statuses = _race(
            site,
            role_tokens["source"],
            [
                ("Flag", plan),
                ("Appointment", appointment(f"Patient/{pid}", "noshow", "2026-06-10T09:00:00Z")),
            ],
        )
        assert statuses == [201, 201]
        assert "protected-child" in flags(client, pid)


def test_two_carers_naming_one_mother_at_once_make_one_family(
    client: TestClient, site: str, role_tokens: dict[str, str]
) -> None:
    """Hazard log H-131: each carer's write looked for the other's link before either had
    committed, found none, and left the siblings in two families (no family-wnb). The link
    key is now held until commit, so the second writer sees the first."""
    for _ in range(5):
        carer = nhs_number()
        a, b = child(client), child(client)
        for pid, day in ((a, "2026-06-05"), (b, "2026-06-07")):
            client.post(
                "/fhir/Appointment",
                json=appointment(f"Patient/{pid}", "noshow", f"{day}T09:00:00Z"),
                headers=FHIR_JSON,
            )
        statuses = _race(
            site,
            role_tokens["source"],
            [("RelatedPerson", related_person(f"Patient/{pid}", carer)) for pid in (a, b)],
        )
        assert statuses == [201, 201]
        assert "family-wnb" in flags(client, a) and "family-wnb" in flags(client, b)
