"""Coding outcomes, table-driven over sample FHIR JSON and the shipped terminology file."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from app.fhir.coding import code_outcome
from app.fhir.terminology import Terminology, TerminologyError, load_terminology
from app.settings import PROJECT_ROOT

TERMS = load_terminology(PROJECT_ROOT / "rules" / "terminology.yaml")
NOW = datetime(2026, 6, 15, tzinfo=UTC)
CHILD_BORN = date(2020, 1, 1)
SNOMED = "http://snomed.info/sct"
REASON = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"


def appt(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": "2026-06-01T09:00:00Z",
        "participant": [{"actor": {"reference": "Patient/c1"}, "status": "accepted"}],
        **extra,
    }


def cancelled(code: str | None) -> dict[str, Any]:
    reason = {"cancelationReason": {"coding": [{"system": REASON, "code": code}]}} if code else {}
    return appt("cancelled", **reason)


@pytest.mark.parametrize(
    ("resource", "category"),
    [
        (appt("noshow"), "was-not-brought"),
        (appt("fulfilled"), "attended"),
        (appt("arrived"), "attended"),
        (appt("checked-in"), "attended"),
        (appt("booked"), "booked"),
        (cancelled("pat"), "carer-cancelled"),
        (cancelled("pat-mv"), "carer-cancelled"),
        (cancelled("prov"), "provider-cancelled"),
        (cancelled("prov-pers"), "provider-cancelled"),
        (cancelled(None), "cancelled-unknown"),  # by whom is not known (hazard H-11)
        (cancelled("patently-odd"), "cancelled-unknown"),  # a prefix must end at a hyphen
        (
            appt(
                "fulfilled",
                extension=[
                    {
                        "url": "https://example.org/attendance",
                        "valueCoding": {
                            "system": "https://fhir.nhs.uk/CodeSystem/NHSDataDictionary-AttendedOrDidNotAttend",
                            "code": "3",
                        },
                    }
                ],
            ),
            "was-not-brought",
        ),
        (
            appt(
                "noshow",
                extension=[
                    {
                        "url": "https://example.org/x",
                        "valueCodeableConcept": {
                            "coding": [{"system": SNOMED, "code": "185471009"}]
                        },
                    }
                ],
            ),
            "no-access",
        ),
    ],
)
def test_appointment_categories(resource: dict[str, Any], category: str) -> None:
    outcome = code_outcome(resource, TERMS, CHILD_BORN, NOW)
    assert outcome is not None
    assert outcome.category == category
    assert outcome.outcome_code == TERMS.written_codes[category].code  # type: ignore[index]


@pytest.mark.parametrize("status", ["proposed", "waitlist", "entered-in-error"])
def test_statuses_that_are_not_outcomes(status: str) -> None:
    assert code_outcome(appt(status), TERMS, CHILD_BORN, NOW) is None


@pytest.mark.parametrize(
    ("born", "category"),
    [
        (date(2008, 6, 2), "was-not-brought"),  # 17 on 1 June 2026
        (date(2008, 6, 1), "did-not-attend"),  # 18 that day
        (None, "was-not-brought"),  # unknown age: treated as a child
    ],
)
def test_children_are_wnb_and_adults_dna(born: date | None, category: str) -> None:
    outcome = code_outcome(appt("noshow"), TERMS, born, NOW)
    assert outcome is not None and outcome.category == category


def test_dna_snomed_code_on_a_child_is_written_as_wnb() -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": SNOMED, "code": "281399006", "display": "DNA"}]},
        "subject": {"reference": "Patient/c1"},
        "effectiveDateTime": "2026-05-01",
    }
    outcome = code_outcome(obs, TERMS, CHILD_BORN, NOW)
    assert outcome is not None
    assert (outcome.category, outcome.child_id) == ("was-not-brought", "c1")
    assert outcome.event_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert outcome.original_codes == [{"system": SNOMED, "code": "281399006", "display": "DNA"}]


def test_event_keeps_service_organisation_source_and_original_codes() -> None:
    resource = appt(
        "noshow",
        meta={"source": "https://gp.example/emis"},
        serviceType=[{"coding": [{"system": "s", "code": "dental", "display": "Dental"}]}],
        extension=[
            {
                "url": "https://fhir.hl7.org.uk/StructureDefinition/"
                "Extension-UKCore-BookingOrganization",
                "valueReference": {"identifier": {"value": "Y12345"}},
            }
        ],
    )
    outcome = code_outcome(resource, TERMS, CHILD_BORN, NOW)
    assert outcome is not None
    # The key the rules compare, and the code as the source sent it, shown to people.
    assert (outcome.service_key, outcome.service_code) == ("s|dental", "dental")
    assert outcome.service_display == "Dental"
    assert outcome.organisation == "Y12345"
    assert outcome.source_system == "https://gp.example/emis"
    assert outcome.original_codes[0]["code"] == "noshow"
    assert outcome.age_days == (date(2026, 6, 1) - CHILD_BORN).days


def test_observation_with_other_code_is_not_an_outcome() -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": "Patient/c"},
        "code": {"coding": [{"system": SNOMED, "code": "27113001"}]},
    }
    assert code_outcome(obs, TERMS, CHILD_BORN, NOW) is None


def test_bad_terminology_file_names_file_and_field(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "rules" / "terminology.yaml").read_text()
    bad = tmp_path / "terminology.yaml"
    bad.write_text(text.replace("noshow: was-not-brought", "noshow: not-a-category"))
    with pytest.raises(
        TerminologyError, match=r"terminology.yaml: field appointment_status\.noshow"
    ):
        load_terminology(bad)


def test_terminology_needs_a_written_code_for_every_category(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "rules" / "terminology.yaml").read_text()
    bad = tmp_path / "t.yaml"
    bad.write_text(text.replace("  booked: {code: booked, display: Booked}\n", ""))
    with pytest.raises(TerminologyError, match="written_codes lacks a code for: booked"):
        load_terminology(bad)


def test_shipped_terminology_is_valid() -> None:
    assert isinstance(TERMS, Terminology)
