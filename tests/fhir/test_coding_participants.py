"""Issue 8 items 1, 2, 6 and 11 in coding: every Patient participant, Observation status,
partial birth dates, cancellations with no reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.fhir.coding import BirthSpan, code_outcomes
from app.fhir.dates import birth_range
from app.fhir.terminology import load_terminology
from app.settings import PROJECT_ROOT

TERMS = load_terminology(PROJECT_ROOT / "rules" / "terminology.yaml")
NOW = datetime(2026, 6, 15, tzinfo=UTC)
SNOMED = "http://snomed.info/sct"
MOTHER, BABY, TWIN = (date(1995, 3, 3),) * 2, (date(2026, 4, 20),) * 2, (date(2026, 4, 20),) * 2


def joint(status: str, *patients: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": "2026-06-01T09:00:00Z",
        "participant": [
            {"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"} for pid in patients
        ],
        **extra,
    }


@pytest.mark.parametrize(
    ("patients", "births", "expected"),
    [
        # A 6-8 week check listing mother and baby: the baby was not brought, the mother DNA.
        (
            ("mum", "baby"),
            {"mum": MOTHER, "baby": BABY},
            [("mum", "did-not-attend", False), ("baby", "was-not-brought", True)],
        ),
        # Twins: each twin's miss counts.
        (
            ("t1", "t2"),
            {"t1": BABY, "t2": TWIN},
            [("t1", "was-not-brought", True), ("t2", "was-not-brought", True)],
        ),
        # The same Patient listed twice is one event.
        (("t1", "t1"), {"t1": BABY}, [("t1", "was-not-brought", True)]),
    ],
)
def test_every_patient_participant_gets_its_own_event(
    patients: tuple[str, ...], births: dict[str, BirthSpan], expected: list[tuple[str, str, bool]]
) -> None:
    found = code_outcomes(joint("noshow", *patients), TERMS, births, NOW)
    assert [(o.child_id, o.category, o.is_child) for o in found] == expected


def test_non_patient_participants_are_not_events() -> None:
    data = joint("noshow", "baby")
    data["participant"].append({"actor": {"reference": "Practitioner/hv1"}, "status": "accepted"})
    assert [o.child_id for o in code_outcomes(data, TERMS, {"baby": BABY}, NOW)] == ["baby"]


def dna_observation(status: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": SNOMED, "code": "281399006"}]},
        "subject": {"reference": "Patient/baby"},
        "effectiveDateTime": "2026-06-01",
    }


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        ("final", True),
        ("amended", True),
        ("corrected", True),
        ("preliminary", True),
        ("entered-in-error", False),
        ("cancelled", False),
    ],
)
def test_observation_status_is_honoured(status: str, counts: bool) -> None:
    found = code_outcomes(dna_observation(status), TERMS, {"baby": BABY}, NOW)
    assert bool(found) == counts


@pytest.mark.parametrize(
    ("birth", "start", "category", "age_days", "uncertain"),
    [
        # Born "2008": latest possible 31 Dec 2008, so 17 in June 2026: a child (was an adult
        # when read as 1 January).
        ("2008", "2026-06-01T09:00:00Z", "was-not-brought", 6361, 365),
        ("2008", "2026-12-30T09:00:00Z", "was-not-brought", 6573, 365),
        ("2008", "2026-12-31T09:00:00Z", "did-not-attend", 6574, 365),
        # Born "2008-05": may be 17 until 30 May 2026 inclusive.
        ("2008-05", "2026-05-30T09:00:00Z", "was-not-brought", 6573, 30),
        ("2008-05", "2026-05-31T09:00:00Z", "did-not-attend", 6574, 30),
        # A full date is exact.
        ("2008-05-01", "2026-05-31T09:00:00Z", "did-not-attend", 6604, 0),
    ],
)
def test_partial_birth_dates_are_decided_on_the_side_of_the_child(
    birth: str, start: str, category: str, age_days: int, uncertain: int
) -> None:
    span = birth_range(birth)
    data = joint("noshow", "p", start=start)
    [outcome] = code_outcomes(data, TERMS, {"p": span}, NOW)
    assert (outcome.category, outcome.age_days, outcome.age_uncertain_days) == (
        category,
        age_days,
        uncertain,
    )


@pytest.mark.parametrize(
    ("start", "category"),
    [
        # 18th birthday 1 June 2026. 00:30 BST on the birthday is 23:30 UTC the day before.
        ("2026-05-31T23:30:00Z", "did-not-attend"),
        ("2026-05-31T22:59:59Z", "was-not-brought"),  # 23:59:59 BST on 31 May: still 17
        # In winter (GMT) the UTC date is the local date.
        ("2025-12-31T23:30:00Z", "was-not-brought"),
    ],
)
def test_child_or_adult_on_the_europe_london_date(start: str, category: str) -> None:
    born = (date(2008, 6, 1),) * 2
    [outcome] = code_outcomes(joint("noshow", "p", start=start), TERMS, {"p": born}, NOW)
    assert outcome.category == category


REASON = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        (None, "cancelled-unknown"),
        ("unknown-local-code", "cancelled-unknown"),
        ("pat", "carer-cancelled"),
        ("prov", "provider-cancelled"),
    ],
)
def test_a_cancellation_with_no_reason_is_its_own_category(
    reason: str | None, category: str
) -> None:
    extra = (
        {"cancelationReason": {"coding": [{"system": REASON, "code": reason}]}} if reason else {}
    )
    [outcome] = code_outcomes(joint("cancelled", "p", **extra), TERMS, {"p": BABY}, NOW)
    assert outcome.category == category
    assert outcome.outcome_code == TERMS.written_codes[category].code  # type: ignore[index]


def test_booked_at_comes_from_created() -> None:
    data = joint("booked", "p", created="2026-06-03T10:00:00+01:00")
    [outcome] = code_outcomes(data, TERMS, {"p": BABY}, NOW)
    assert outcome.booked_at == datetime(2026, 6, 3, 9, 0, tzinfo=UTC)
    [no_created] = code_outcomes(joint("booked", "p"), TERMS, {"p": BABY}, NOW)
    assert no_created.booked_at is None  # the store fills in when it first stored it
