"""A case owned before its record is merged stays owned (issue 19 item 2): the surviving
record takes the owner and next review date, unless it has an owner of its own; the merged
record leaves every caseload either way."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.factories import created_id, patient, post
from tests.services.test_late_facts import put as put_resource
from tests.services.test_merge_undone import linked
from tests.ui.test_case_owner import colleague, put


def caseload(browser: TestClient, owner: str) -> dict[str, str | None]:
    r = browser.get("/api/caseload", params={"owner": owner})
    assert r.status_code == 200, r.text
    return {i["id"]: i["case"]["next_review"] for i in r.json()["items"]}


def merge(client: TestClient, merged: str, surviving: str) -> None:
    put_resource(client, "Patient", merged, linked(client, merged, "replaced-by", surviving))


def test_the_surviving_record_takes_the_merged_records_owner(
    signed_in: TestClient, client: TestClient, state: AppState
) -> None:
    jo = colleague(state)
    old = created_id(post(client, "Patient", patient(birth="2022-08-20", given="Mia")))
    new = created_id(post(client, "Patient", patient(birth="2022-08-20", given="Mia")))
    r = put(signed_in, f"/api/children/{old}/owner", {"owner": jo, "next_review": "2026-07-01"})
    assert r.status_code == 200, r.text
    merge(client, old, new)
    assert caseload(signed_in, jo) == {new: "2026-07-01"}


def test_a_survivor_with_its_own_owner_keeps_it(
    signed_in: TestClient, client: TestClient, state: AppState, nurse: str
) -> None:
    jo = colleague(state)
    old = created_id(post(client, "Patient", patient(birth="2022-08-20", given="Mia")))
    new = created_id(post(client, "Patient", patient(birth="2022-08-20", given="Mia")))
    assert put(signed_in, f"/api/children/{old}/owner", {"owner": jo}).status_code == 200
    body = {"owner": "me", "next_review": "2026-08-01"}
    assert put(signed_in, f"/api/children/{new}/owner", body).status_code == 200
    merge(client, old, new)
    assert caseload(signed_in, nurse) == {new: "2026-08-01"}
    assert caseload(signed_in, jo) == {}  # the merged record left Jo's caseload
