"""Owning a case: a nurse gives a child's case (or a family's) to herself or a colleague with
a next review date; the worklist shows and filters by the owner; "my caseload" lists what she
owns, overdue reviews first; people are shown by their display names."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.services.access.users import add_user
from tests.api.nurse_helpers import audited_for
from tests.conftest import PASSWORD
from tests.factories import created_id, csrf_of, patient, post
from tests.services.test_late_facts import household
from tests.services.test_late_facts import put as put_resource
from tests.services.test_merge_undone import linked
from tests.ui.conftest import Family
from tests.ui.test_pages import text_of


def colleague(state: AppState, name: str | None = "Jo Smith", role: str = "nurse") -> str:
    username = f"jo-{uuid.uuid4().hex[:8]}"
    state.write(lambda s: add_user(s, username, PASSWORD, role, state.clock(), name))
    return username


def put(browser: TestClient, path: str, body: object) -> httpx.Response:
    token = csrf_of(browser.get("/ui/").text)
    return browser.put(path, json=body, headers={"X-CSRF-Token": token})


def owners(client: TestClient, **params: str) -> dict[str, Any]:
    r = client.get("/api/worklist", params=params)
    assert r.status_code == 200, r.text
    return {c["child"]["id"]: c["owner"] for i in r.json()["items"] for c in i["concerns"]}


def test_a_nurse_takes_a_case_and_the_worklist_shows_it(
    signed_in: TestClient, family: Family, nurse: str
) -> None:
    assert set(owners(signed_in).values()) == {None}
    r = put(signed_in, f"/api/children/{family.ruby}/owner", {"owner": "me"})
    assert r.status_code == 200, r.text
    ruby = owners(signed_in)[family.ruby]
    assert ruby["username"] == nurse and ruby["next_review"] is None
    assert set(owners(signed_in, owner="me")) == {family.ruby}
    assert set(owners(signed_in, owner=nurse)) == {family.ruby}
    assert set(owners(signed_in, owner="unassigned")) == {family.iris}


def test_a_family_given_to_a_colleague_shows_her_name_and_overdue_reviews_first(
    signed_in: TestClient, state: AppState, family: Family
) -> None:
    jo = colleague(state)
    body = {"owner": jo, "next_review": "2026-07-01"}
    r = put(signed_in, f"/api/families/{family.family_id}/owner", body)
    assert r.status_code == 200, r.text
    changed = r.json()["children"]
    assert {c["id"] for c in changed} == {family.ruby, family.iris}
    assert {o["name"] for o in owners(signed_in).values()} == {"Jo Smith"}
    # Iris's review is overdue on 15 June: she comes first in Jo's caseload.
    put(signed_in, f"/api/children/{family.iris}/owner", {"owner": jo, "next_review": "2026-06-01"})
    load = signed_in.get("/api/caseload", params={"owner": jo}).json()
    assert load["owner"] == {"username": jo, "name": "Jo Smith"}
    assert [i["id"] for i in load["items"]] == [family.iris, family.ruby]
    assert [i["case"]["overdue"] for i in load["items"]] == [True, False]
    assert load["items"][1]["open_flags"] >= 1 and load["items"][1]["highest_priority"] == "high"


def test_nobody_owns_a_case_given_back(signed_in: TestClient, family: Family) -> None:
    put(signed_in, f"/api/children/{family.ruby}/owner", {"owner": "me"})
    assert put(signed_in, f"/api/children/{family.ruby}/owner", {"owner": None}).status_code == 200
    assert owners(signed_in)[family.ruby] is None
    assert signed_in.get("/api/caseload").json()["items"] == []


def test_a_case_cannot_go_to_someone_who_cannot_sign_in(
    signed_in: TestClient, state: AppState, family: Family, client: TestClient
) -> None:
    for owner in ("nobody-here", colleague(state, role="nurse") + "-x"):
        r = put(signed_in, f"/api/children/{family.ruby}/owner", {"owner": owner})
        assert r.status_code == 422
        assert r.json()["issue"][0]["expression"] == ["owner"]
    body = {"owner": "me", "next_review": "soon"}
    bad = put(signed_in, f"/api/children/{family.ruby}/owner", body)
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["body.next_review"]
    assert put(signed_in, "/api/children/nobody/owner", {"owner": "me"}).status_code == 404
    assert owners(client)[family.ruby] is None  # nothing changed


def test_giving_a_case_is_audited_as_a_change_to_the_child(
    signed_in: TestClient, family: Family, client: TestClient, nurse: str
) -> None:
    put(signed_in, f"/api/children/{family.ruby}/owner", {"owner": "me"})
    mine = [
        e["subtype"][0]["code"]
        for e in audited_for(client, family.ruby)
        if e["agent"][0]["who"]["identifier"]["value"] == nurse
    ]
    assert "update" in mine


def test_the_header_shows_the_persons_name(state: AppState, anonymous: TestClient) -> None:
    from tests.factories import sign_in

    jo = colleague(state, "Jo Smith")
    sign_in(anonymous, jo)
    page = anonymous.get("/ui/").text
    assert "Jo Smith" in page and f"{jo} (" not in page


def test_the_child_page_form_gives_the_case_and_my_caseload_lists_it(
    signed_in: TestClient, state: AppState, family: Family, nurse: str
) -> None:
    jo = colleague(state, "Jo Smith")
    page = signed_in.get(f"/ui/children/{family.ruby}").text
    assert "Owned by: Nobody" in text_of(page) and "Jo Smith" in page  # a colleague to choose
    form = {"csrf_token": csrf_of(page), "owner": "me", "next_review": "2026-06-10"}
    done = signed_in.post(f"/ui/children/{family.ruby}/owner", data=form, follow_redirects=False)
    assert done.status_code == 303
    words = text_of(signed_in.get(done.headers["location"]).text)
    assert "Saved." in words and "Review overdue" in words
    load = text_of(signed_in.get("/ui/caseload").text)
    assert "Ruby Marsh" in load and "Overdue" in load and "Iris Marsh" not in load
    worklist = text_of(signed_in.get("/ui/?owner=unassigned").text)
    assert "Iris Marsh" in worklist and "Ruby Marsh" not in worklist
    family_page = signed_in.get(f"/ui/families/{family.family_id}").text
    form = {"csrf_token": csrf_of(family_page), "owner": jo, "next_review": ""}
    signed_in.post(f"/ui/families/{family.family_id}/owner", data=form)
    assert "Owned by: Jo Smith" in text_of(signed_in.get(f"/ui/families/{family.family_id}").text)
    assert "You own no cases" in text_of(signed_in.get("/ui/caseload").text)


def test_the_owner_form_needs_its_csrf_token_and_a_real_date(
    signed_in: TestClient, family: Family, client: TestClient
) -> None:
    path = f"/ui/children/{family.ruby}/owner"
    assert signed_in.post(path, data={"owner": "me", "csrf_token": "wrong"}).status_code == 403
    token = csrf_of(signed_in.get("/ui/").text)
    bad = signed_in.post(path, data={"owner": "me", "csrf_token": token, "next_review": "soon"})
    assert bad.status_code == 422 and "next review date" in bad.text
    assert owners(client)[family.ruby] is None


def test_a_familys_case_goes_to_its_children_only(
    signed_in: TestClient, client: TestClient, family: Family
) -> None:
    # An adult in the household, and a duplicate of Iris merged into her.
    adult = created_id(post(client, "Patient", patient(birth="1990-02-01", given="Ann")))
    assert post(client, "Group", household(family.ruby, family.iris, adult)).status_code == 201
    duplicate = created_id(post(client, "Patient", patient(birth="2022-08-20", given="Iris")))
    put_resource(
        client, "Patient", duplicate, linked(client, duplicate, "replaced-by", family.iris)
    )
    body = signed_in.get(f"/api/children/{family.ruby}/chronology").json()
    r = put(signed_in, f"/api/families/{body['family_id']}/owner", {"owner": "me"})
    assert r.status_code == 200, r.text
    assert {c["id"] for c in r.json()["children"]} == {family.ruby, family.iris}
    # The merged record's case is its surviving record's.
    r = put(signed_in, f"/api/children/{duplicate}/owner", {"owner": None})
    assert [c["id"] for c in r.json()["children"]] == [family.iris]


def test_reviews_and_sharing_show_who_by_name(
    state: AppState, anonymous: TestClient, family: Family
) -> None:
    from tests.factories import sign_in
    from tests.ui.test_review_form import submit

    jo = colleague(state, "Jo Smith")
    sign_in(anonymous, jo)
    assert submit(anonymous, family.flag, action="acknowledge").status_code == 303  # type: ignore[attr-defined]
    assert "by Jo Smith on" in text_of(anonymous.get(f"/ui/flags/{family.flag}").text)
    reviews = anonymous.get(f"/api/flags/{family.flag}").json()["reviews"]
    assert reviews[-1]["by"] == {"kind": "user", "id": jo, "name": "Jo Smith"}
    shared = {"agency": "School nursing", "method": "meeting", "shared_at": "2026-06-14T09:00:00Z"}
    r = put(anonymous, f"/api/children/{family.ruby}/owner", {"owner": "me"})
    assert r.status_code == 200
    token = csrf_of(anonymous.get("/ui/").text)
    r = anonymous.post(
        f"/api/children/{family.ruby}/sharing", json=shared, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 201, r.text
    assert r.json()["recorded_by_name"] == "Jo Smith"
