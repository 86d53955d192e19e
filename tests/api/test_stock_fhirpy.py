"""fhirpy, unchanged, against a live server: what it sends is known and answered."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from fhirpy import SyncFHIRClient

from app.runtime import AppState
from tests.factories import created_id, nhs_number, patient, post
from tests.live_server import serve


def test_total_method_is_known_and_named_in_the_self_link(client: TestClient) -> None:
    family = f"Totalmethod{nhs_number()}"
    for _ in range(3):
        created_id(post(client, "Patient", patient(family=family)))
    r = client.get("/fhir/Patient", params={"family": family, "_count": 0, "_totalMethod": "count"})
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["total"] == 3
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert parse_qs(urlsplit(self_link).query)["_totalMethod"] == ["count"]
    bad = client.get("/fhir/Patient", params={"_totalMethod": "guess"})
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["_totalMethod"]


@pytest.mark.own_connections("a real server for a stock client")
def test_stock_fhirpy_count(
    client: TestClient, state: AppState, role_tokens: dict[str, str]
) -> None:
    family = f"Fhirpy{nhs_number()}"
    for _ in range(2):
        created_id(post(client, "Patient", patient(family=family)))
    with serve(state) as base:
        fhir = SyncFHIRClient(f"{base}/fhir", authorization=f"Bearer {role_tokens['nurse']}")
        assert fhir.resources("Patient").search(family=family).count() == 2
        assert fhir.resources("Patient").search(family="Nobody-by-this-name").count() == 0
