"""POST /api/families/{id}/review: one review of each chosen child's concern, recorded per
concern, under one audit record, all or nothing; and closing a high-priority concern needs an
outcome and a note, through this route and the single-concern one alike."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.nurse_helpers import (
    audited_for,
    child,
    noshow,
    only_flag,
    siblings,
    status_flag,
)
from tests.ui.conftest import Family


def family_of(client: TestClient, pid: str) -> str:
    return str(client.get(f"/api/children/{pid}/chronology").json()["family_id"])


def concern(client: TestClient, pid: str) -> str:
    return str(only_flag(client, pid, "family-wnb")["flag_id"])


def review(client: TestClient, family_id: str, **body: Any) -> Any:
    return client.post(f"/api/families/{family_id}/review", json=body)


def people(reviews: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reviews people made (the service's own entries, evidence changed, left out)."""
    return [r for r in reviews if r["by"]["kind"] != "system"]


def versions(client: TestClient, flag: str) -> int:
    return int(client.get(f"/fhir/Flag/{flag}/_history").json()["total"])


def snapshot(client: TestClient, flags: list[str]) -> list[tuple[str, int, int]]:
    """Each flag's state, number of people's reviews and number of FHIR versions."""
    out = []
    for flag in flags:
        detail = client.get(f"/api/flags/{flag}").json()
        out.append((detail["state"], len(people(detail["reviews"])), versions(client, flag)))
    return out


def expression(r: Any) -> list[str]:
    assert r.json()["resourceType"] == "OperationOutcome", r.text
    return [x for i in r.json()["issue"] for x in i.get("expression", [])]


def test_two_siblings_reviewed_at_once_under_one_audit_record(client: TestClient) -> None:
    older, younger, _ = siblings(client)
    family = family_of(client, older)
    flags = [concern(client, older), concern(client, younger)]
    r = review(client, family, children=[older, younger], action="acknowledge", note="Both seen.")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["family_id"] == family
    assert [c["flag_id"] for c in body["concerns"]] == flags
    assert [c["state"] for c in body["concerns"]] == ["acknowledged", "acknowledged"]
    for flag in flags:  # one flag_review row and one new FHIR Flag version each
        [ack] = people(client.get(f"/api/flags/{flag}").json()["reviews"])
        assert ack["action"] == "acknowledge" and ack["note"] == "Both seen."
        assert ack["flag_version"] == versions(client, flag)
    [recorded] = [e for e in audited_for(client, older) if e["subtype"][0]["code"] == "review"]
    refs = {x["what"]["reference"] for x in recorded["entity"] if "what" in x}
    assert {f"Patient/{older}", f"Patient/{younger}", *(f"Flag/{f}" for f in flags)} <= refs
    assert [e["id"] for e in audited_for(client, younger) if e["subtype"][0]["code"] == "review"]
    assert recorded["outcome"] == "0"


def test_only_the_chosen_children_are_reviewed(client: TestClient) -> None:
    older, younger, _ = siblings(client)
    flags = [concern(client, older), concern(client, younger)]
    [(_, _, old), (_, _, young)] = snapshot(client, flags)
    r = review(client, family_of(client, older), children=[younger], action="acknowledge")
    assert r.status_code == 200, r.text
    after = snapshot(client, flags)
    assert after == [("open", 0, old), ("acknowledged", 1, young + 1)]


def refused_unchanged(
    client: TestClient, older: str, children: list[str], status: int, flags: list[str]
) -> None:
    """Acknowledging these children's concerns is refused at body.children[1], and no flag
    changed: not its state, not its reviews, not its FHIR versions."""
    before = snapshot(client, flags)
    r = review(client, family_of(client, older), children=children, action="acknowledge")
    assert r.status_code == status and expression(r) == ["body.children[1]"]
    assert snapshot(client, flags) == before


def test_a_child_of_another_family_changes_nothing(client: TestClient) -> None:
    older, younger, _ = siblings(client)
    stranger = child(client, "2020-03-01", "Ann")
    noshow(client, stranger, "2026-06-05")
    flags = [concern(client, older), concern(client, younger)]
    refused_unchanged(client, older, [older, stranger], 422, flags)


def test_a_child_without_an_open_concern_changes_nothing(client: TestClient) -> None:
    older, younger, _ = siblings(client)
    flags = [concern(client, older), concern(client, younger)]
    body = {"action": "close", "outcome": "no-further-action"}
    assert client.post(f"/api/flags/{flags[1]}/review", json=body).is_success
    refused_unchanged(client, older, [older, younger], 409, flags)


def test_a_review_wrong_for_one_concern_changes_nothing(client: TestClient) -> None:
    older, younger, _ = siblings(client)
    flags = [concern(client, older), concern(client, younger)]
    assert client.post(f"/api/flags/{flags[0]}/review", json={"action": "acknowledge"}).is_success
    refused_unchanged(client, older, [younger, older], 409, flags)


@pytest.mark.parametrize(
    ("chosen", "action", "where"),
    [
        ([], "acknowledge", "body.children"),
        (None, "acknowledge", "body.children"),
        ([0], "reopen", "body.action"),
        ([0], "note", "body.note"),
        ([0, 0], "acknowledge", "body.children[1]"),
    ],
)
def test_a_wrong_body_changes_nothing(
    client: TestClient, chosen: list[int] | None, action: str, where: str
) -> None:
    both = siblings(client)[:2]
    flags = [concern(client, both[0]), concern(client, both[1])]
    before = snapshot(client, flags)
    body: dict[str, Any] = {"action": action}
    if chosen is not None:
        body["children"] = [both[i] for i in chosen]
    r = review(client, family_of(client, both[0]), **body)
    assert r.status_code in (400, 422), r.text
    assert where in expression(r)
    assert snapshot(client, flags) == before


def test_an_unknown_family_is_404(client: TestClient) -> None:
    older, _, _ = siblings(client)
    r = review(client, "no-such-family", children=[older], action="acknowledge")
    assert r.status_code == 404 and expression(r) == ["family_id"]


def test_closing_a_high_priority_concern_needs_an_outcome_and_a_note(client: TestClient) -> None:
    ruby = child(client, "2019-04-02", "Ruby", "Marsh")
    status_flag(client, ruby, "cp-plan", "2026-03-01")
    noshow(client, ruby, "2026-05-12", "dental")
    family = Family(
        ruby, "", "", family_of(client, ruby), only_flag(client, ruby, "protected-child")["flag_id"]
    )
    assert client.get(f"/api/flags/{family.flag}").json()["priority"] == "high"
    before = snapshot(client, [family.flag])
    r = review(client, family.family_id, children=[family.ruby], action="close")
    assert r.status_code == 422 and expression(r) == ["body.outcome", "body.note"]
    single = client.post(
        f"/api/flags/{family.flag}/review", json={"action": "close", "outcome": "referred-to-mash"}
    )
    assert single.status_code == 422 and expression(single) == ["body.note"]
    assert snapshot(client, [family.flag]) == before
    r = review(
        client,
        family.family_id,
        children=[family.ruby],
        action="close",
        outcome="referred-to-mash",
        note="MASH accepted the referral.",
    )
    assert r.status_code == 200, r.text
    assert r.json()["concerns"][0]["state"] == "closed"


@pytest.mark.parametrize("role", ["agency", "source"])
def test_agencies_and_sources_may_not_review_a_family(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str], role: str
) -> None:
    older, younger, _ = siblings(client)
    flags = [concern(client, older), concern(client, younger)]
    before = snapshot(client, flags)
    auth = {"Authorization": f"Bearer {role_tokens[role]}"}
    r = anonymous.post(
        f"/api/families/{family_of(client, older)}/review",
        json={"children": [older, younger], "action": "acknowledge"},
        headers=auth,
    )
    assert r.status_code == 403
    assert snapshot(client, flags) == before
