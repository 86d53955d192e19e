"""Rules evaluated at ingest, across the family: one concern per child, a reason per rule that
holds for the child."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import AppState
from app.store import family_repo
from app.store.models import RaisedFlag
from tests.factories import (
    child,
    missed,
    nhs_number,
    post,
    related_person,
)

RULE_SYSTEM = "https://wnb.dev/fhir/CodeSystem/wnb-rule"
CONCERN_SYSTEM = "https://wnb.dev/fhir/CodeSystem/wnb-flag-code"
EVIDENCE = "https://wnb.dev/fhir/StructureDefinition/wnb-flag-evidence"
REASON = "https://wnb.dev/fhir/StructureDefinition/wnb-concern-reason"


def concerns(client: TestClient, pid: str, status: str = "active") -> list[dict[str, Any]]:
    """The child's concerns (the service's Flags) with `status`."""
    r = client.get(
        "/fhir/Flag", params={"patient": pid, "status": status, "code": f"{CONCERN_SYSTEM}|"}
    )
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", [])]


def flags(client: TestClient, pid: str, status: str = "active") -> dict[str, dict[str, Any]]:
    """The child's concern seen per reason: rule id -> the concern Flag with that reason's
    rule as its coding and that reason's facts as its evidence (id, meta, status and period
    are the concern's). Active concerns are at most one per child."""
    found = concerns(client, pid, status)
    if status == "active":
        assert len(found) <= 1, f"{len(found)} active concerns for one child"
    out: dict[str, dict[str, Any]] = {}
    for flag in found:
        for rule, facts in reasons(flag).items():
            out.setdefault(rule, _as_reason(flag, rule, facts))
    return out


def reasons(flag: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A concern's reasons: rule id -> the reason's sub-extensions."""
    out = {}
    for x in flag.get("extension", []):
        if x["url"] == REASON:
            rule = next(s["valueCoding"]["code"] for s in x["extension"] if s["url"] == "rule")
            out[rule] = x["extension"]
    return out


def _as_reason(flag: dict[str, Any], rule: str, facts: list[dict[str, Any]]) -> dict[str, Any]:
    head = next(x for x in flag["extension"] if x["url"] == EVIDENCE)["extension"]
    state = [s for s in head if s["url"] in ("review-state", "outcome")]
    coding = next(s["valueCoding"] for s in facts if s["url"] == "rule")
    summary = next(s["valueString"] for s in facts if s["url"] == "summary")
    return {
        **flag,
        "extension": [{"url": EVIDENCE, "extension": [*facts, *state]}],
        "code": {"coding": [coding], "text": summary},
    }


def evidence(flag: dict[str, Any], kind: str = "event") -> set[str]:
    ext = next(x for x in flag["extension"] if x["url"] == EVIDENCE)["extension"]
    return {x["valueReference"]["reference"] for x in ext if x["url"] == kind}


def test_repeat_wnb_raises_then_updates_one_flag(client: TestClient) -> None:
    pid = child(client)
    first = missed(client, pid, "2026-06-10")
    assert "repeat-wnb" not in flags(client, pid)
    second = missed(client, pid, "2026-06-12")
    flag = flags(client, pid)["repeat-wnb"]
    assert flag["subject"] == {"reference": f"Patient/{pid}"}
    assert flag["status"] == "active" and flag["meta"]["versionId"] == "1"
    assert evidence(flag) == {f"Appointment/{first}", f"Appointment/{second}"}
    third = missed(client, pid, "2026-06-13")
    again = flags(client, pid)["repeat-wnb"]
    assert again["id"] == flag["id"] and again["meta"]["versionId"] == "2"
    assert f"Appointment/{third}" in evidence(again)


def test_attended_appointments_do_not_count(client: TestClient) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-10")
    missed(client, pid, "2026-06-12", status="fulfilled")
    assert flags(client, pid) == {}


def test_family_rule_flags_every_sibling(client: TestClient) -> None:
    carer = nhs_number()
    a, b, stranger = child(client), child(client), child(client)
    for pid in (a, b):
        post(client, "RelatedPerson", related_person(f"Patient/{pid}", carer))
    missed(client, a, "2026-06-05")
    missed(client, stranger, "2026-06-06")
    assert "family-wnb" not in flags(client, a)
    missed(client, b, "2026-06-07", service="gp")
    for pid in (a, b):
        flag = flags(client, pid)["family-wnb"]
        assert evidence(flag, "family-member") == {f"Patient/{x}" for x in (a, b) if x != pid}
    assert "family-wnb" not in flags(client, stranger)


def test_household_group_makes_a_family(client: TestClient) -> None:
    a, b = child(client), child(client)
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [
            {"entity": {"reference": f"Patient/{a}"}},
            {"entity": {"reference": f"Patient/{b}"}},
        ],
    }
    assert post(client, "Group", group).status_code == 201
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07")
    assert "family-wnb" in flags(client, a) and "family-wnb" in flags(client, b)


@pytest.mark.parametrize(
    ("period", "fires"),
    [
        ({"start": "2026-01-01"}, True),
        ({"start": "2025-01-01", "end": "2026-03-01"}, False),
        ({"start": "2026-06-11"}, False),  # the plan began after the missed appointment
    ],
)
def test_protected_child(client: TestClient, period: dict[str, str], fires: bool) -> None:
    pid = child(client)
    status = {
        "resourceType": "Flag",
        "status": "active",
        "subject": {"reference": f"Patient/{pid}"},
        "period": period,
        "code": {
            "coding": [
                {"system": "https://wnb.dev/fhir/CodeSystem/safeguarding-status", "code": "cp-plan"}
            ]
        },
    }
    assert post(client, "Flag", status).status_code == 201
    missed(client, pid, "2026-06-10")
    assert ("protected-child" in flags(client, pid)) is fires


def test_infant_and_adult(client: TestClient) -> None:
    baby = child(client, birth="2025-09-01")
    missed(client, baby, "2026-06-10")
    assert "infant-wnb" in flags(client, baby)
    adult = child(client, birth="1990-01-01")
    missed(client, adult, "2026-06-10")
    missed(client, adult, "2026-06-11")
    assert flags(client, adult) == {}  # adults' DNAs are coded but raise nothing


def test_past_dated_miss_whose_window_closed_is_judged_at_ingest(client: TestClient) -> None:
    pid = child(client)
    missed(client, pid, "2026-05-01")  # 45 days before now, nothing rebooked
    assert "not-rebooked" in flags(client, pid)


def test_past_dated_miss_that_was_rebooked(client: TestClient) -> None:
    pid = child(client)
    missed(client, pid, "2026-05-10", status="booked")
    missed(client, pid, "2026-05-01")
    assert "not-rebooked" not in flags(client, pid)


def test_rules_off_raise_nothing(client: TestClient, state: AppState) -> None:
    saved, state.rules = state.rules, None
    try:
        pid = child(client)
        missed(client, pid, "2026-06-10")
        missed(client, pid, "2026-06-11")
        assert flags(client, pid) == {}
    finally:
        state.rules = saved


def review_state(flag: dict[str, Any]) -> str:
    ext = next(x for x in flag["extension"] if x["url"] == EVIDENCE)["extension"]
    return next(x["valueCode"] for x in ext if x["url"] == "review-state")


def test_new_evidence_brings_an_acknowledged_concern_back_as_evidence_changed(
    client: TestClient,
) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-10")
    missed(client, pid, "2026-06-11")
    flag_id = flags(client, pid)["repeat-wnb"]["id"]
    r = client.post(f"/api/flags/{flag_id}/review", json={"action": "acknowledge"})
    assert r.status_code == 200, r.text
    assert review_state(flags(client, pid)["repeat-wnb"]) == "acknowledged"
    missed(client, pid, "2026-06-12")
    assert review_state(flags(client, pid)["repeat-wnb"]) == "evidence-changed"


def test_every_sibling_flag_names_the_family(client: TestClient, state: AppState) -> None:
    carer = nhs_number()
    a, b = child(client), child(client)
    for pid in (a, b):
        post(client, "RelatedPerson", related_person(f"Patient/{pid}", carer))
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07")
    rows = state.read(
        lambda s: s.execute(
            select(RaisedFlag.child_id, RaisedFlag.family_id).where(
                RaisedFlag.reason_rules.like("% family-wnb %")
            )
        ).all()
    )
    families = state.read(lambda s: family_repo.families_of(s, [a, b]))
    assert families[a] == families[b]
    assert sorted(rows) == sorted([(a, families[a]), (b, families[b])])
