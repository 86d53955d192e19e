"""The concern Flag: one per child, its reasons as extensions; an uncertain age is said, and
an agency reads only the reasons that name its type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.flag import Flag

from app.fhir.raised_flag import Reason, evidence_url, for_agency, raised_flag, reason_url

CANON = "https://wnb.dev/fhir"
PLAN = Reason(
    "protected-child", 1, "high", "on a plan", ["gp", "social-care"], ["Appointment/a1"], ["c1"]
)
REPEAT = Reason(
    "repeat-wnb",
    2,
    "medium",
    "2 missed",
    ["gp", "school-nursing"],
    ["Appointment/a1", "Appointment/a2"],
    ["c1"],
)


def flag(reasons: list[Reason] | None = None, **extra: Any) -> dict[str, Any]:
    return raised_flag(
        canonical=CANON,
        rule_system=f"{CANON}/CodeSystem/wnb-rule",
        flag_id="f1",
        summary="on a plan; 2 missed",
        priority="high",
        child_id="c1",
        opened_at=datetime(2026, 6, 1, tzinfo=UTC),
        closed_at=None,
        events=["Appointment/a1", "Appointment/a2"],
        family=[],
        agencies=["gp", "school-nursing", "social-care"],
        reasons=[PLAN, REPEAT] if reasons is None else reasons,
        **extra,
    )


def head(flag: dict[str, Any]) -> list[dict[str, Any]]:
    [evidence] = [x for x in flag["extension"] if x["url"] == evidence_url(CANON)]
    return evidence["extension"]


def rules_of(flag: dict[str, Any]) -> list[str]:
    return [
        s["valueCoding"]["code"]
        for x in flag["extension"]
        if x["url"] == reason_url(CANON)
        for s in x["extension"]
        if s["url"] == "rule"
    ]


@pytest.mark.parametrize(("uncertain", "said"), [(True, [True]), (False, [])])
def test_age_uncertain_is_in_the_evidence(uncertain: bool, said: list[bool]) -> None:
    found = [
        x["valueBoolean"]
        for x in head(flag(age_uncertain=uncertain))
        if x["url"] == "age-uncertain"
    ]
    assert found == said


def test_a_concern_is_valid_r4_with_a_reason_per_rule() -> None:
    data = flag()
    Flag.model_validate(data)
    assert data["code"]["coding"][0]["code"] == "was-not-brought-concern"
    assert rules_of(data) == ["protected-child", "repeat-wnb"]


def test_an_agency_reads_only_the_reasons_that_name_its_type() -> None:
    school = for_agency(flag(), "school-nursing")
    Flag.model_validate(school)
    assert rules_of(school) == ["repeat-wnb"]
    said = {(x["url"], x.get("valueCode") or x.get("valueString")) for x in head(school)}
    assert ("priority", "medium") in said and ("summary", "2 missed") in said
    assert ("agency", "social-care") not in said
    assert school["code"]["text"] == "2 missed"
    # Every reason names the GP: nothing is hidden from it.
    assert for_agency(flag(), "gp") == flag()
    assert rules_of(for_agency(flag(), "health-visiting")) == []


def test_a_concern_without_reasons_shows_an_agency_its_review_state_alone() -> None:
    """Every reason gone after a review: the evidence it kept is the nurse's, not an
    agency's (none of its reasons is left to name one)."""
    gone = flag(reasons=[], state="evidence-changed", outcome="no-further-action")
    for kind in ("gp", "social-care", ""):
        seen = for_agency(gone, kind)
        Flag.model_validate(seen)
        assert head(seen) == [
            {"url": "review-state", "valueCode": "evidence-changed"},
            {"url": "outcome", "valueCode": "no-further-action"},
        ]
        assert seen["code"]["text"] == "Was not brought concern"
        assert "Appointment/" not in str(seen) and "on a plan" not in str(seen)


def test_a_status_flag_a_source_sent_is_read_as_it_is() -> None:
    status = {
        "resourceType": "Flag",
        "id": "s1",
        "status": "active",
        "code": {"coding": [{"system": "https://example.org/status", "code": "cp-plan"}]},
        "subject": {"reference": "Patient/c1"},
        "extension": [{"url": "https://example.org/note", "valueString": "plan"}],
    }
    assert for_agency(status, "gp") == status


def test_a_per_rule_flag_from_before_concerns_shows_only_the_agencies_it_named() -> None:
    """A concern's history holds the per-rule Flag it was folded from (migration 0013): its
    code names the rule, its evidence extension the rule's agencies."""
    old = {
        "resourceType": "Flag",
        "id": "f1",
        "extension": [
            {
                "url": evidence_url(CANON),
                "extension": [
                    {"url": "priority", "valueCode": "high"},
                    {"url": "summary", "valueString": "on a plan"},
                    {"url": "review-state", "valueCode": "acknowledged"},
                    {"url": "agency", "valueCode": "social-care"},
                    {"url": "event", "valueReference": {"reference": "Appointment/a1"}},
                ],
            }
        ],
        "status": "active",
        "code": {
            "coding": [{"system": f"{CANON}/CodeSystem/wnb-rule", "code": "protected-child"}],
            "text": "on a plan",
        },
        "subject": {"reference": "Patient/c1"},
    }
    assert for_agency(old, "social-care") == old
    gp = for_agency(old, "gp")
    Flag.model_validate(gp)
    assert head(gp) == [{"url": "review-state", "valueCode": "acknowledged"}]
    assert gp["code"] == {"text": "Was not brought concern"}
