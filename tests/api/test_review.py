"""POST /api/flags/{id}/review and GET /api/flags/{id}: every review is recorded, who did
it, and each change to a flag is a new version of its FHIR Flag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.api.nurse_helpers import audited_for, flags_of, noshow, only_flag, siblings
from tests.conftest import FIXED_NOW
from tests.factories import FHIR_JSON, child


def repeat_flag(client: TestClient) -> tuple[str, str]:
    """A six-year-old who missed two dental appointments this month (their rebooking windows
    still open): (patient, her concern, whose one reason is repeat-wnb)."""
    ann = child(client, "2020-03-01", "Ann")
    noshow(client, ann, "2026-06-05")
    noshow(client, ann, "2026-06-10")
    return ann, only_flag(client, ann, "repeat-wnb")["flag_id"]


def review(client: TestClient, flag: str, **body: Any) -> Any:
    return client.post(f"/api/flags/{flag}/review", json=body)


def history(client: TestClient, flag: str) -> list[dict[str, Any]]:
    bundle = client.get(f"/fhir/Flag/{flag}/_history").json()
    return [e["resource"] for e in bundle["entry"]]  # newest first


def review_state(flag: dict[str, Any]) -> tuple[str | None, str | None]:
    evidence = flag["extension"][0]
    found = {e["url"]: e.get("valueCode") for e in evidence["extension"]}
    return found.get("review-state"), found.get("outcome")


def test_acknowledge_note_outcome_close(client: TestClient, state: AppState) -> None:
    # Tokens live five minutes: the clock moves on by minutes.
    ann, flag = repeat_flag(client)
    assert len(history(client, flag)) == 1

    state.clock = lambda: FIXED_NOW + timedelta(minutes=1)
    r = review(client, flag, action="acknowledge")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged" and r.json()["child"]["id"] == ann
    [ack] = r.json()["reviews"]
    assert ack["action"] == "acknowledge" and ack["at"] == "2026-06-15T12:01:00Z"
    assert ack["by"]["kind"] == "client" and ack["by"]["id"]
    assert ack["flag_version"] == 2
    assert review_state(history(client, flag)[0]) == ("acknowledged", None)

    state.clock = lambda: FIXED_NOW + timedelta(minutes=2)
    r = review(client, flag, action="note", note="  Mum says the bus was cancelled.  ")
    assert r.status_code == 200, r.text
    assert r.json()["reviews"][-1]["note"] == "Mum says the bus was cancelled."
    assert r.json()["reviews"][-1]["flag_version"] == 2  # a note does not change the flag
    assert len(history(client, flag)) == 2

    r = review(client, flag, action="outcome", outcome="discussed-with-health-visitor")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["outcome"]) == (
        "acknowledged",
        "discussed-with-health-visitor",
    )
    assert review_state(history(client, flag)[0]) == (
        "acknowledged",
        "discussed-with-health-visitor",
    )

    state.clock = lambda: FIXED_NOW + timedelta(minutes=3)
    r = review(client, flag, action="close", outcome="no-further-action", note="Seen since.")
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (closed["state"], closed["outcome"]) == ("closed", "no-further-action")
    assert closed["closed_at"] == "2026-06-15T12:03:00Z"
    assert [x["action"] for x in closed["reviews"]] == ["acknowledge", "note", "outcome", "close"]
    assert [x["flag_version"] for x in closed["reviews"]] == [2, 2, 3, 4]

    versions = history(client, flag)
    assert [v["meta"]["versionId"] for v in versions] == ["4", "3", "2", "1"]
    assert [v["status"] for v in versions] == ["inactive", "active", "active", "active"]
    assert versions[0]["period"]["end"].startswith("2026-06-15T12:03:00")
    assert "end" not in versions[1]["period"]
    assert review_state(versions[0]) == ("closed", "no-further-action")
    assert client.get(f"/fhir/Flag/{flag}/_history/1").json()["status"] == "active"
    assert flag not in {f["flag_id"] for f in flags_of(client)}


def test_closing_twice_is_409_but_a_note_may_follow(client: TestClient) -> None:
    _, flag = repeat_flag(client)
    assert review(client, flag, action="close", outcome="referred-to-mash").status_code == 200
    again = review(client, flag, action="close", outcome="referred-to-mash")
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"
    assert review(client, flag, action="acknowledge").status_code == 409
    assert review(client, flag, action="note", note="MASH replied.").status_code == 200
    assert len(history(client, flag)) == 2


def test_acknowledging_twice_is_409(client: TestClient) -> None:
    _, flag = repeat_flag(client)
    assert review(client, flag, action="acknowledge").status_code == 200
    assert review(client, flag, action="acknowledge").status_code == 409


def test_a_closed_flag_can_be_reopened_once(client: TestClient) -> None:
    _, flag = repeat_flag(client)
    assert review(client, flag, action="reopen").status_code == 409  # still open
    assert review(client, flag, action="close", outcome="no-further-action").status_code == 200
    r = review(client, flag, action="reopen", note="Mother phoned: new concern.")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "open" and body["closed_at"] is None
    assert [x["action"] for x in body["reviews"]] == ["close", "reopen"]
    assert history(client, flag)[0]["status"] == "active"
    assert review(client, flag, action="reopen").status_code == 409


def test_new_evidence_after_closing_reopens_the_flag(client: TestClient) -> None:
    ann, flag = repeat_flag(client)
    assert review(client, flag, action="close", outcome="no-further-action").status_code == 200
    noshow(client, ann, "2026-06-10")
    fresh = only_flag(client, ann, "repeat-wnb")
    assert fresh["flag_id"] == flag and fresh["state"] == "open"
    assert fresh["outcome"] is None  # the decision stays in the history, for the old evidence
    assert len(fresh["evidence"]) == 3


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"action": "delete"}, 400, "body.action"),
        ({}, 400, "body.action"),
        ({"action": "outcome", "outcome": "sorted"}, 400, "body.outcome"),
        ({"action": "note", "note": "x" * 4001}, 400, "body.note"),
        ({"action": "note", "note": "a\x00b"}, 400, "body.note"),
        ({"action": "note", "note": "hi", "by": "someone else"}, 400, "body.by"),
        ({"action": "note"}, 422, "body.note"),
        ({"action": "note", "note": "   "}, 422, "body.note"),
        ({"action": "outcome"}, 422, "body.outcome"),
        ({"action": "outcome", "outcome": "other"}, 422, "body.note"),
        ({"action": "acknowledge", "outcome": "referred-to-mash"}, 422, "body.outcome"),
        ({"action": "close"}, 422, "body.outcome"),
    ],
)
def test_invalid_reviews_name_what_is_wrong(
    client: TestClient, body: dict[str, Any], status: int, where: str
) -> None:
    ann, flag = repeat_flag(client)
    r = review(client, flag, **body)
    assert r.status_code == status, r.text
    assert r.json()["issue"][0]["expression"] == [where]
    assert only_flag(client, ann, "repeat-wnb")["state"] == "open"
    assert len(history(client, flag)) == 1


def test_body_must_be_json(client: TestClient) -> None:
    _, flag = repeat_flag(client)
    form = client.post(f"/api/flags/{flag}/review", data={"action": "acknowledge"})
    assert form.status_code == 415
    broken = client.post(f"/api/flags/{flag}/review", content=b"{", headers=FHIR_JSON)
    assert broken.status_code == 400


def test_unknown_flag_is_404(client: TestClient) -> None:
    r = review(client, "no-such-flag", action="acknowledge")
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    assert client.get("/api/flags/no-such-flag").status_code == 404


@pytest.mark.parametrize("role", ["agency", "source"])
def test_agencies_and_sources_may_not_review_or_read(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str], role: str
) -> None:
    _, flag = repeat_flag(client)
    auth = {"Authorization": f"Bearer {role_tokens[role]}"}
    r = anonymous.post(f"/api/flags/{flag}/review", json={"action": "acknowledge"}, headers=auth)
    assert r.status_code == 403
    assert anonymous.get(f"/api/flags/{flag}", headers=auth).status_code == 403
    assert len(history(client, flag)) == 1


def test_a_nurse_review_names_the_nurse_and_is_audited(
    client: TestClient, role_tokens: dict[str, str]
) -> None:
    ann, flag = repeat_flag(client)
    nurse = {"Authorization": f"Bearer {role_tokens['nurse']}"}
    r = client.post(f"/api/flags/{flag}/review", json={"action": "acknowledge"}, headers=nurse)
    assert r.status_code == 200, r.text
    [ack] = r.json()["reviews"]
    [recorded] = [e for e in audited_for(client, ann) if e["subtype"][0]["code"] == "review"]
    assert recorded["agent"][0]["who"]["identifier"]["value"] == ack["by"]["id"]
    assert recorded["agent"][0]["role"] == [{"text": "nurse"}]
    assert recorded["action"] == "U" and recorded["outcome"] == "0"
    refs = {x["what"]["reference"] for x in recorded["entity"]}
    assert refs == {f"Patient/{ann}", f"Flag/{flag}"}


def test_a_refused_review_is_audited_too(
    client: TestClient, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    _, flag = repeat_flag(client)
    auth = {"Authorization": f"Bearer {role_tokens['agency']}"}
    anonymous.post(f"/api/flags/{flag}/review", json={"action": "acknowledge"}, headers=auth)
    found = client.get("/fhir/AuditEvent", params={"entity": f"Flag/{flag}", "subtype": "review"})
    [refused] = [e["resource"] for e in found.json()["entry"]]
    assert refused["outcome"] == "4" and "403" in refused["outcomeDesc"]


def test_flag_detail_shows_reviews_and_the_family_evidence(client: TestClient) -> None:
    cat, dan, _ = siblings(client)
    flag = only_flag(client, dan, "family-wnb")["flag_id"]
    review(client, flag, action="outcome", outcome="other", note="Called the school.")
    r = client.get(f"/api/flags/{flag}")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["child"]["name"] == "Dan Jones" and detail["outcome"] == "other"
    assert [x["note"] for x in detail["reviews"]] == ["Called the school."]
    facts = [
        (e["patient_id"], e["at"], e["category"], e["status"], e["service"]["code"])
        for e in detail["evidence_details"]
    ]
    assert facts == [
        (cat, "2026-05-31T09:00:00Z", "was-not-brought", "noshow", "school-nursing"),
        (dan, "2026-06-05T09:00:00Z", "was-not-brought", "noshow", "gp"),
    ]
    assert {e["resource"] for e in detail["evidence_details"]} == set(detail["evidence"])
    # Cat's appointment was disclosed through Dan's flag: the audit says so.
    reads = [e for e in audited_for(client, cat) if e["subtype"][0]["code"] == "read"]
    assert len(reads) == 1
    refs = {x["what"]["reference"] for x in reads[0]["entity"]}
    assert {f"Patient/{cat}", f"Patient/{dan}", f"Flag/{flag}"} <= refs
