"""A family above WNB_FAMILY_ALERT_SIZE (an unlisted shared carer identifier): an operator
alert (log, metric, admin API), and its family-level rules held until an admin confirms it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.store import family_repo
from tests.factories import child, missed, nhs_number, post, related_person
from tests.services.test_late_facts import system_reviews
from tests.services.test_rules_at_ingest import flags


@pytest.fixture
def small_alert(state: AppState, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(state.settings, "family_alert_size", 3)
    monkeypatch.setattr(state.settings, "metrics_public", True)  # the test client is not loopback
    return 3


def four_children_one_carer(client: TestClient) -> tuple[list[str], str]:
    shared = nhs_number()
    kids = [child(client) for _ in range(4)]
    for n, pid in enumerate(kids):
        missed(client, pid, f"2026-06-0{n + 5}", service=f"s{n}")
        post(client, "RelatedPerson", related_person(f"Patient/{pid}", shared))
    return kids, shared


def test_a_family_above_the_alert_size_holds_its_family_rules(
    client: TestClient, state: AppState, small_alert: int, caplog: pytest.LogCaptureFixture
) -> None:
    kids, shared = four_children_one_carer(client)
    family = state.read(lambda s: family_repo.families_of(s, kids))[kids[0]]
    for pid in kids:
        assert "family-wnb" not in flags(client, pid)  # held
    # Raised while the family had three children, then withdrawn saying why.
    withdrawn = flags(client, kids[0], status="inactive")["family-wnb"]
    [note] = [n for a, n in system_reviews(state, withdrawn["id"]) if a == "withdraw"]
    assert "WNB_FAMILY_ALERT_SIZE" in note
    assert any(r.name == "wnb.families" and family in r.getMessage() for r in caplog.records)
    listing = client.get("/api/families/large").json()
    [row] = listing["families"]
    assert row["family"] == family and row["size"] == 4 and row["held"] is True
    assert {"key": f"carer:https://fhir.nhs.uk/Id/nhs-number|{shared}", "patients": 4} in row[
        "shared"
    ]
    metrics = client.get("/metrics").text
    assert "wnb_families_held 1.0" in metrics
    # An admin confirms: the family rules run, and it is no longer held.
    r = client.post(f"/api/families/large/{family}/confirm")
    assert r.status_code == 200, r.text
    for pid in kids:
        assert "family-wnb" in flags(client, pid)
    assert client.get("/api/families/large").json()["families"][0]["held"] is False
    assert "wnb_families_held 0.0" in client.get("/metrics").text


def test_a_confirmed_family_that_grows_is_held_again(
    client: TestClient, state: AppState, small_alert: int
) -> None:
    kids, shared = four_children_one_carer(client)
    family = state.read(lambda s: family_repo.families_of(s, kids))[kids[0]]
    assert client.post(f"/api/families/large/{family}/confirm").status_code == 200
    fifth = child(client)
    post(client, "RelatedPerson", related_person(f"Patient/{fifth}", shared))
    missed(client, fifth, "2026-06-10", service="s9")
    assert "family-wnb" not in flags(client, fifth)


def test_a_small_family_cannot_be_confirmed(client: TestClient, state: AppState) -> None:
    pid = child(client)
    family = state.read(lambda s: family_repo.families_of(s, [pid]))[pid]
    r = client.post(f"/api/families/large/{family}/confirm")
    assert r.status_code == 409
    assert client.post("/api/families/large/fam-nobody/confirm").status_code == 404


def test_nurses_may_not_see_or_confirm_large_families(
    client: TestClient, role_tokens: dict[str, str]
) -> None:
    nurse = {"Authorization": f"Bearer {role_tokens['nurse']}"}
    assert client.get("/api/families/large", headers=nurse).status_code == 403
    assert client.post("/api/families/large/fam-x/confirm", headers=nurse).status_code == 403
