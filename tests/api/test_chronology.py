"""A child's chronology and a family's: every outcome, status, flag and review in time order,
scoped and audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.api.nurse_helpers import (
    audited_for,
    carer,
    child,
    noshow,
    only_flag,
    siblings,
    status_flag,
)
from tests.conftest import FIXED_NOW
from tests.factories import appointment, created_id, patient, post

SOURCE = "https://gp.example/system"


def ann_history(client: TestClient, state: AppState) -> str:
    """Ann was a child in need last year and is on a CP plan since February; she missed two
    dental appointments and was seen once by her GP. Tokens live five minutes, so the clock
    moves on by minutes."""
    ann = child(client, "2020-03-01", "Ann")
    status_flag(client, ann, "child-in-need", "2025-06-01", "2025-12-31")
    status_flag(client, ann, "cp-plan", "2026-02-01")
    noshow(client, ann, "2026-01-10", meta={"source": SOURCE})
    seen = appointment(f"Patient/{ann}", "fulfilled", "2026-02-20T09:00:00Z", "seen-1", "gp")
    created_id(post(client, "Appointment", seen))
    state.clock = lambda: FIXED_NOW + timedelta(minutes=1)
    noshow(client, ann, "2026-03-01")
    state.clock = lambda: FIXED_NOW + timedelta(minutes=2)
    repeat = only_flag(client, ann, "repeat-wnb")["flag_id"]
    client.post(f"/api/flags/{repeat}/review", json={"action": "acknowledge"})
    state.clock = lambda: FIXED_NOW + timedelta(minutes=3)
    protected = only_flag(client, ann, "protected-child")["flag_id"]
    body = {"action": "close", "outcome": "referred-to-childrens-social-care", "note": "Done."}
    assert client.post(f"/api/flags/{protected}/review", json=body).status_code == 200
    return ann


ALL_THREE = "not-rebooked,protected-child,repeat-wnb"


def summary(item: dict[str, Any]) -> tuple[str, str, str]:
    if item["kind"].startswith("status"):
        detail = item["status"]
    elif item["kind"] == "event":
        detail = item["category"]
    elif item["kind"] == "review":
        detail = item["action"]
    else:
        detail = ",".join(item["reasons"])
    return (item["at"][:16], item["kind"], detail)


def test_child_chronology_in_time_order(client: TestClient, state: AppState) -> None:
    ann = ann_history(client, state)
    r = client.get(f"/api/children/{ann}/chronology")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["child"]["name"] == "Ann Smith" and body["family_id"].startswith("fam-")
    items = body["items"]
    assert [summary(i) for i in items] == [
        ("2025-06-01T00:00", "status-start", "child-in-need"),
        ("2026-01-01T00:00", "status-end", "child-in-need"),
        ("2026-01-10T09:00", "event", "was-not-brought"),
        ("2026-02-01T00:00", "status-start", "cp-plan"),
        ("2026-02-20T09:00", "event", "attended"),
        ("2026-03-01T09:00", "event", "was-not-brought"),
        # One concern: opened on the first reason, two more joined a minute later (a system
        # entry says so), then a nurse acknowledged and closed it. Each flag item shows the
        # reasons of its own version: the opening, the first reason alone.
        ("2026-06-15T12:00", "flag-opened", "not-rebooked"),
        ("2026-06-15T12:01", "flag-updated", ALL_THREE),
        ("2026-06-15T12:01", "review", "evidence-changed"),
        ("2026-06-15T12:02", "review", "acknowledge"),
        ("2026-06-15T12:03", "review", "close"),
        ("2026-06-15T12:03", "flag-closed", ALL_THREE),
    ]
    assert {i["child_id"] for i in items} == {ann} and {i["carer"] for i in items} == {None}
    # The priority is the version's too: medium when raised, high once the plan's reason joined.
    assert [i["priority"] for i in items if i["kind"].startswith("flag")] == [
        "medium",
        "high",
        "high",
    ]
    first = items[2]
    assert first["status"] == "noshow" and first["source"] == SOURCE
    assert first["service"]["code"] == "dental" and first["resource"].startswith("Appointment/")
    assert first["outcome"]["code"] == "was-not-brought"
    assert items[4]["status"] == "fulfilled" and items[4]["service"]["code"] == "gp"
    closing = items[-2]
    assert (closing["action"], closing["outcome"], closing["note"]) == (
        "close",
        "referred-to-childrens-social-care",
        "Done.",
    )
    assert closing["by"]["kind"] == "client"
    assert items[-1]["state"] == "closed" and items[3]["resource"].startswith("Flag/")


def test_unknown_patient_is_404(client: TestClient) -> None:
    for path in ("chronology", "family-chronology"):
        r = client.get(f"/api/children/no-such-child/{path}")
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    assert client.get("/api/families/fam-none/chronology").status_code == 404
    assert client.get("/api/children/bad id!/chronology").status_code == 400


@pytest.mark.parametrize("role", ["agency", "source"])
@pytest.mark.parametrize("path", ["chronology", "family-chronology"])
def test_agencies_and_sources_may_not_read_chronologies(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str], role: str, path: str
) -> None:
    ann = child(client, "2020-03-01", "Ann")
    auth = {"Authorization": f"Bearer {role_tokens[role]}"}
    assert anonymous.get(f"/api/children/{ann}/{path}", headers=auth).status_code == 403
    nurse = {"Authorization": f"Bearer {role_tokens['nurse']}"}
    assert anonymous.get(f"/api/children/{ann}/{path}", headers=nurse).status_code == 200


def test_child_chronology_read_is_audited(client: TestClient) -> None:
    ann = child(client, "2020-03-01", "Ann")
    other = child(client, "2021-03-01", "Bea")
    client.get(f"/api/children/{ann}/chronology")
    [read] = [e for e in audited_for(client, ann) if e["subtype"][0]["code"] == "read"]
    assert read["outcome"] == "0"
    assert [x["what"]["reference"] for x in read["entity"]] == [f"Patient/{ann}"]
    assert [e for e in audited_for(client, other) if e["subtype"][0]["code"] == "read"] == []


def family(client: TestClient) -> dict[str, str]:
    """Cat and Dan share a mother, who is a patient here and missed her own mental health
    appointment; Dan's father is known only as his carer. Ann is in another family."""
    cat, dan, mother_nhs = siblings(client)
    mother = created_id(
        post(client, "Patient", patient(nhs=mother_nhs, birth="1990-04-04", given="Eve"))
    )
    noshow(client, mother, "2026-05-20", "mental-health")
    carer(client, dan, "9000000009", "FTH", name=[{"given": ["Fred"], "family": "Jones"}])
    ann = child(client, "2020-03-01", "Ann")
    noshow(client, ann, "2026-06-02")
    return {"cat": cat, "dan": dan, "mother": mother, "mother_nhs": mother_nhs, "ann": ann}


def test_family_chronology_puts_children_and_carers_on_one_timeline(
    client: TestClient,
) -> None:
    ids = family(client)
    by_child = client.get(f"/api/children/{ids['cat']}/family-chronology")
    assert by_child.status_code == 200, by_child.text
    body = by_child.json()
    by_family = client.get(f"/api/families/{body['family_id']}/chronology")
    assert by_family.status_code == 200 and by_family.json() == body
    assert {c["name"] for c in body["children"]} == {"Cat Jones", "Dan Jones"}
    mother_key = f"https://fhir.nhs.uk/Id/nhs-number|{ids['mother_nhs']}"
    father_key = "https://fhir.nhs.uk/Id/nhs-number|9000000009"
    carers = {c["key"]: c for c in body["carers"]}
    assert set(carers) == {mother_key, father_key}
    assert carers[mother_key]["children"] == sorted([ids["cat"], ids["dan"]])
    assert carers[mother_key]["patient_id"] == ids["mother"]
    assert carers[mother_key]["relationships"] == ["MTH"]
    assert len(carers[mother_key]["related_persons"]) == 2
    assert carers[father_key] | {"related_persons": []} == {
        "key": father_key,
        "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"},
        "name": "Fred Jones",
        "relationships": ["FTH"],
        "related_persons": [],
        "children": [ids["dan"]],
        "active": True,
        "patient_id": None,
        "telecom": [],  # none sent
        "address": [],
    }
    events = [
        (i["at"][:10], i["child_id"], i["carer"]) for i in body["items"] if i["kind"] == "event"
    ]
    assert events == [
        ("2026-05-20", None, mother_key),
        ("2026-05-31", ids["cat"], None),
        ("2026-06-05", ids["dan"], None),
    ]
    mothers = [i for i in body["items"] if i["carer"]]
    assert [i["category"] for i in mothers] == ["did-not-attend"]
    flags = {
        (i["child_id"], r)
        for i in body["items"]
        if i["kind"] == "flag-opened"
        for r in i["reasons"]
    }
    assert flags == {
        (ids["cat"], "family-wnb"),
        (ids["dan"], "family-wnb"),
        (ids["cat"], "not-rebooked"),
    }
    assert all(i["child_id"] in (ids["cat"], ids["dan"]) for i in body["items"] if not i["carer"])
    ats = [i["at"] for i in body["items"]]
    assert ats == sorted(ats)


def test_family_chronology_is_audited_for_every_person_shown(client: TestClient) -> None:
    ids = family(client)
    client.get(f"/api/children/{ids['dan']}/family-chronology")
    for who in ("cat", "dan", "mother"):
        reads = [e for e in audited_for(client, ids[who]) if e["subtype"][0]["code"] == "read"]
        assert len(reads) == 1, who
    assert [e for e in audited_for(client, ids["ann"]) if e["subtype"][0]["code"] == "read"] == []


def test_a_child_alone_is_a_family_of_one(client: TestClient) -> None:
    ann = child(client, "2020-03-01", "Ann")
    noshow(client, ann, "2026-06-02")
    body = client.get(f"/api/children/{ann}/family-chronology").json()
    assert [c["id"] for c in body["children"]] == [ann] and body["carers"] == []
    assert [i["kind"] for i in body["items"]] == ["event"]
