"""GET /api/worklist: raised concerns (one per child, its reasons the rules that hold)
filtered, sorted, paged and counted; scoped and audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.api.nurse_helpers import (
    audited_for,
    booked_by,
    carer,
    child,
    flags_of,
    noshow,
    only_flag,
    siblings,
    status_flag,
)
from tests.conftest import FIXED_NOW
from tests.factories import nhs_number

APRIL = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
ANN = {("Ann", "repeat-wnb"), ("Ann", "not-rebooked")}
FAMILIES = {"Ann": "Ann", "Ben": "Ben", "Cat": "Jones", "Dan": "Jones"}
CAT = {("Cat", "family-wnb"), ("Cat", "not-rebooked")}


def scenario(client: TestClient, state: AppState) -> dict[str, str]:
    """Four concerns with six reasons. On 1 April, Ann (6) missed two dental appointments at
    ODS-A: repeat-wnb and not-rebooked. On 15 June, baby Ben missed a health visit at ODS-B:
    infant-wnb (high); siblings Cat (11) and Dan (8) each missed one: family-wnb for both,
    not-rebooked for Cat."""
    state.clock = lambda: APRIL
    ann = child(client, "2020-03-01", "Ann")
    noshow(client, ann, "2026-01-10", **booked_by("ODS-A"))
    noshow(client, ann, "2026-03-01", **booked_by("ODS-A"))
    state.clock = lambda: FIXED_NOW
    ben = child(client, "2026-01-01", "Ben")
    noshow(client, ben, "2026-06-10", "health-visiting", **booked_by("ODS-B"))
    cat, dan, _ = siblings(client)
    return {"ann": ann, "ben": ben, "cat": cat, "dan": dan}


def keys(items: list[dict]) -> list[tuple[str, str]]:
    """(child's first name, rule) for every reason of every concern listed."""
    return [(i["child"]["name"].split()[0], r["rule_id"]) for i in items for r in i["reasons"]]


def test_one_row_per_family_high_first_with_children_and_counts(
    client: TestClient, state: AppState
) -> None:
    ids = scenario(client, state)
    page = client.get("/api/worklist").json()
    # Three families: Ben; Ann; Cat and Dan (one mother). Four concerns with six reasons.
    assert page["total"] == 3 and page["next"] is None
    assert page["counts"] == {
        "families": 3,
        "concerns": 4,
        "by_priority": {"high": 1, "medium": 3, "low": 0},
        "by_rule": {"family-wnb": 2, "infant-wnb": 1, "not-rebooked": 2, "repeat-wnb": 1},
    }
    ben_row = page["items"][0]
    assert ben_row["priority"] == "high" and ben_row["has_infant"] is True
    assert ben_row["statuses"] == [] and ben_row["waiting_since"] == "2026-06-15T12:00:00Z"
    assert ben_row["counts"] == {"children": 1, "concerns": 1, "unreviewed": 1}
    assert ben_row["links"] == {"family": f"/api/families/{ben_row['family_id']}/chronology"}
    [first] = ben_row["concerns"]
    assert [r["rule_id"] for r in first["reasons"]] == ["infant-wnb"]
    assert first["priority"] == "high" and first["reasons"][0]["priority"] == "high"
    assert first["family_id"] == ben_row["family_id"]
    assert first["child"] == {
        "id": ids["ben"],
        "name": "Ben Smith",
        "birth_date": "2026-01-01",
        "age_days": 165,
    }
    assert first["organisation"] == "ODS-B" and first["state"] == "open"
    assert first["opened_at"] == "2026-06-15T12:00:00Z"
    assert first["last_event_at"] == "2026-06-10T09:00:00Z"
    assert len(first["evidence"]) == 1 and first["evidence"][0].startswith("Appointment/")
    assert first["links"] == {
        "flag": f"/fhir/Flag/{first['flag_id']}",
        "chronology": f"/api/children/{ids['ben']}/chronology",
    }
    assert client.get(first["links"]["flag"]).json()["subject"]["reference"] == (
        f"Patient/{ids['ben']}"
    )
    # Then medium, longest waiting first: Ann's concern was opened in April, with two reasons.
    ann_row, jones = page["items"][1:]
    assert set(keys(ann_row["concerns"])) == ANN and ann_row["priority"] == "medium"
    assert ann_row["waiting_since"] == "2026-04-01T12:00:00Z"
    # Siblings share one row, each child with their own concern and reasons.
    assert jones["priority"] == "medium" and jones["has_infant"] is False
    assert jones["counts"] == {"children": 2, "concerns": 2, "unreviewed": 2}
    assert set(keys(jones["concerns"])) == CAT | {("Dan", "family-wnb")}
    assert {c["family_id"] for c in jones["concerns"]} == {jones["family_id"]}
    assert jones["family_id"].startswith("fam-")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rule": "repeat-wnb"}, {("Ann", "repeat-wnb"), ("Ann", "not-rebooked")}),
        (
            {"rule": "infant-wnb,family-wnb"},
            {("Ben", "infant-wnb"), ("Cat", "family-wnb"), ("Cat", "not-rebooked")}
            | {("Dan", "family-wnb")},
        ),
        ({"priority": "high"}, {("Ben", "infant-wnb")}),
        ({"age_band": "0-1"}, {("Ben", "infant-wnb")}),
        (
            {"age_band": "5-11"},
            {("Ann", "repeat-wnb"), ("Ann", "not-rebooked"), ("Dan", "family-wnb")},
        ),
        ({"age_band": "11-18"}, {("Cat", "not-rebooked"), ("Cat", "family-wnb")}),
        (
            {"min_age_days": "2297", "max_age_days": "2297"},  # Ann is 2,297 days old
            {("Ann", "not-rebooked"), ("Ann", "repeat-wnb")},
        ),
        ({"min_age_days": "2298", "max_age_days": "3054"}, set()),  # Dan is 3,055
        ({"max_age_days": "165"}, {("Ben", "infant-wnb")}),
        ({"organisation": "ODS-A", "rule": "not-rebooked"}, {("Ann", "not-rebooked")} | ANN),
        ({"opened_to": "2026-04-01"}, {("Ann", "repeat-wnb"), ("Ann", "not-rebooked")}),
        ({"opened_from": "2026-04-02", "rule": "not-rebooked"}, CAT),
        ({"opened_from": "2026-06-15T12:00:01Z"}, set()),
    ],
)
def test_filters(
    client: TestClient, state: AppState, params: dict[str, str], expected: set[tuple[str, str]]
) -> None:
    scenario(client, state)
    page = client.get("/api/worklist", params={**params, "_count": "100"}).json()
    concerns = [c for row in page["items"] for c in row["concerns"]]
    got = set(keys(concerns))
    assert got == expected
    assert len(keys(concerns)) == len(expected) == sum(page["counts"]["by_rule"].values())
    children = {name for name, _ in expected}
    assert page["counts"]["concerns"] == len(concerns) == len(children)
    assert page["total"] == len({FAMILIES[name] for name in children}) == len(page["items"])
    assert sum(page["counts"]["by_priority"].values()) == page["counts"]["concerns"]


def test_an_open_flag_stays_findable_after_the_18th_birthday(
    client: TestClient, state: AppState
) -> None:
    """Hazard log H-84: Eve was not brought twice at 17; her flag is still open at 18."""
    scenario(client, state)
    eve = child(client, "2008-06-10", "Eve")  # 18 on 10 June 2026
    noshow(client, eve, "2026-05-01")
    noshow(client, eve, "2026-05-20")

    def found(band: str) -> set[tuple[str, str]]:
        return set(keys(flags_of(client, age_band=band)))

    assert ("Eve", "repeat-wnb") not in found("11-18")
    assert found("18+") == {("Eve", "repeat-wnb"), ("Eve", "not-rebooked")}


@pytest.mark.parametrize(
    ("sort", "field", "descending"),
    [
        ("opened", "opened_at", False),
        ("-opened", "opened_at", True),
        ("last_event", "last_event_at", False),
        ("-last_event", "last_event_at", True),
    ],
)
def test_sort_by_time(
    client: TestClient, state: AppState, sort: str, field: str, descending: bool
) -> None:
    scenario(client, state)
    values = [i[field] for i in flags_of(client, sort=sort)]
    assert len(values) == 4 and values[0] != values[-1]
    assert values == sorted(values, reverse=descending)


@pytest.mark.parametrize("sort", ["-priority", "priority"])
def test_sort_by_priority_then_longest_waiting(
    client: TestClient, state: AppState, sort: str
) -> None:
    scenario(client, state)
    items = flags_of(client, sort=sort)
    rank = {"high": 0, "medium": 1, "low": 2}
    ranks = [rank[i["priority"]] for i in items]
    assert ranks == sorted(ranks, reverse=sort == "priority") and len(set(ranks)) == 2
    medium = [i["opened_at"] for i in items if i["priority"] == "medium"]
    assert medium == sorted(medium) and medium[0] != medium[-1]


def test_pages_follow_next_until_the_end(client: TestClient, state: AppState) -> None:
    scenario(client, state)
    seen: list[str] = []
    url: str | None = "/api/worklist?_count=2&rule=infant-wnb,family-wnb,not-rebooked,repeat-wnb"
    pages = 0
    while url:
        page = client.get(url).json()
        assert page["total"] == 3 and page["counts"]["by_priority"]["high"] == 1
        seen += [c["flag_id"] for row in page["items"] for c in row["concerns"]]
        url, pages = page["next"], pages + 1
        assert url is None or "rule=infant-wnb" in url
    assert pages == 2 and len(seen) == len(set(seen)) == 4
    assert seen == [i["flag_id"] for i in flags_of(client)]


def test_count_zero_gives_counts_only(client: TestClient, state: AppState) -> None:
    scenario(client, state)
    page = client.get("/api/worklist", params={"_count": "0", "priority": "medium"}).json()
    assert (page["total"], page["items"], page["next"]) == (2, [], None)  # Ann; Cat and Dan
    assert page["counts"]["concerns"] == 3
    assert page["counts"]["by_priority"] == {"high": 0, "medium": 3, "low": 0}


def test_state_filter_follows_reviews(client: TestClient, state: AppState) -> None:
    ids = scenario(client, state)
    ben = only_flag(client, ids["ben"], "infant-wnb")["flag_id"]
    ann = only_flag(client, ids["ann"], "repeat-wnb")["flag_id"]
    assert client.post(f"/api/flags/{ben}/review", json={"action": "acknowledge"}).is_success
    body = {"action": "close", "outcome": "no-further-action"}
    assert client.post(f"/api/flags/{ann}/review", json=body).is_success
    by_state = {s: {i["flag_id"] for i in flags_of(client, state=s)} for s in STATES}
    assert by_state["acknowledged"] == {ben}
    assert by_state["closed"] == {ann}
    assert len(by_state["open"]) == 2 and ben not in by_state["open"]
    assert by_state["all"] == by_state["open"] | {ben}
    assert {i["flag_id"] for i in flags_of(client)} == by_state["all"]


STATES = ("open", "acknowledged", "closed", "all")


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"age_band": "2-3"}, "query.age_band"),
        ({"state": "pending"}, "query.state"),
        ({"sort": "name"}, "query.sort"),
        ({"_count": "1000"}, "query._count"),
        ({"_offset": "-1"}, "query._offset"),
        ({"min_age_days": "x"}, "query.min_age_days"),
        ({"min_age_days": "10", "max_age_days": "5"}, "min_age_days"),
        ({"opened_from": "last week"}, "opened_from"),
        ({"opened_to": "2026-13-01"}, "opened_to"),
        ({"priorty": "high"}, "priorty"),
        ({"rule": "a\x00b"}, "query.rule"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    client: TestClient, params: dict[str, str], where: str
) -> None:
    r = client.get("/api/worklist", params=params)
    assert r.status_code == 400, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert where in outcome["issue"][0]["expression"]


@pytest.mark.parametrize("role", ["agency", "source"])
def test_roles_without_search_scopes_are_refused(
    anonymous: TestClient, role_tokens: dict[str, str], role: str
) -> None:
    r = anonymous.get("/api/worklist", headers={"Authorization": f"Bearer {role_tokens[role]}"})
    assert r.status_code == 403
    assert r.json()["issue"][0]["code"] == "forbidden"
    assert anonymous.get("/api/worklist").status_code == 401


def test_a_nurse_may_see_the_worklist(
    client: TestClient, state: AppState, role_tokens: dict[str, str]
) -> None:
    scenario(client, state)
    nurse = {"Authorization": f"Bearer {role_tokens['nurse']}"}
    r = client.get("/api/worklist", headers=nurse)
    assert r.status_code == 200 and r.json()["total"] == 3


def test_each_child_shown_is_audited(client: TestClient, state: AppState) -> None:
    ids = scenario(client, state)
    assert client.get("/api/worklist", params={"rule": "infant-wnb"}).json()["total"] == 1
    [seen] = [e for e in audited_for(client, ids["ben"]) if e["subtype"][0]["code"] == "search"]
    refs = {x["what"]["reference"] for x in seen["entity"] if "what" in x}
    flag = only_flag(client, ids["ben"], "infant-wnb")["flag_id"]
    assert refs == {f"Patient/{ids['ben']}", f"Flag/{flag}"}
    assert seen["outcome"] == "0" and seen["action"] == "E"
    # Ann was on no page anyone saw: only the posts that created her record name her.
    assert {e["subtype"][0]["code"] for e in audited_for(client, ids["ann"])} == {"create"}


def test_within_a_priority_status_then_infant_then_longest_waiting(
    client: TestClient, state: AppState
) -> None:
    """Three families with medium concerns only: Amy alone, waiting since April; Bob, whose
    baby sister has missed nothing; Cal, whose sister Sue is on a child protection plan and
    has missed nothing. Cal's family first, then Bob's, then Amy's, though Amy waits longest."""
    state.clock = lambda: APRIL
    amy = child(client, "2019-03-01", "Amy")
    noshow(client, amy, "2026-02-10")
    noshow(client, amy, "2026-03-20")
    state.clock = lambda: FIXED_NOW
    bob, baby = child(client, "2018-03-01", "Bob"), child(client, "2026-02-01", "Bea")
    cal, sue = child(client, "2017-03-01", "Cal"), child(client, "2016-03-01", "Sue")
    for older, younger in ((bob, baby), (cal, sue)):
        mother = nhs_number()
        carer(client, older, mother)
        carer(client, younger, mother)
    status_flag(client, sue, "cp-plan", "2026-01-01")
    for pid in (bob, cal):
        noshow(client, pid, "2026-06-01")
        noshow(client, pid, "2026-06-12")

    rows = client.get("/api/worklist").json()["items"]
    firsts = [[c["child"]["name"].split()[0] for c in r["concerns"]] for r in rows]
    assert firsts == [["Cal"], ["Bob"], ["Amy"]]
    assert [r["priority"] for r in rows] == ["medium"] * 3
    assert rows[0]["statuses"] == [{"child_id": sue, "name": "Sue Smith", "status": "cp-plan"}]
    # Sue has no concern, but the worklist showed her name and plan: its audit names her.
    searched = [e for e in audited_for(client, sue) if e["subtype"][0]["code"] == "search"]
    assert searched, "the worklist's audit record names the sibling it showed"
    assert [r["has_infant"] for r in rows] == [False, True, False]
    assert [r["waiting_since"][:10] for r in rows] == ["2026-06-15", "2026-06-15", "2026-04-01"]
    # Acknowledged, Cal's and Bob's families wait for nobody, but keep their places: the
    # statuses and the infant rank first whatever their state.
    for row in rows[:2]:
        flag = row["concerns"][0]["flag_id"]
        r = client.post(f"/api/flags/{flag}/review", json={"action": "acknowledge"})
        assert r.status_code in (200, 201), r.text
    rows = client.get("/api/worklist").json()["items"]
    assert [r["waiting_since"] is None for r in rows] == [True, True, False]
    assert [r["counts"]["unreviewed"] for r in rows] == [0, 0, 1]
    assert client.get("/api/worklist", params={"state": "open"}).json()["total"] == 1


def test_area_matches_the_gp_practice_or_a_booking_organisation(
    client: TestClient, state: AppState
) -> None:
    ids = scenario(client, state)
    names = {c["child"]["id"] for c in flags_of(client, area="ODS-A")}
    assert names == {ids["ann"]}
    assert {c["child"]["id"] for c in flags_of(client, area="ODS-B")} == {ids["ben"]}
    assert flags_of(client, area="ODS-Z") == []


def test_a_child_with_no_family_is_a_family_of_one(client: TestClient, state: AppState) -> None:
    ids = scenario(client, state)
    rows = client.get("/api/worklist", params={"rule": "repeat-wnb"}).json()["items"]
    [row] = rows
    assert [c["child"]["id"] for c in row["concerns"]] == [ids["ann"]]
    assert row["counts"] == {"children": 1, "concerns": 1, "unreviewed": 1}
