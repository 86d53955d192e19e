"""Issue 8 item 3: one service vocabulary, table-driven over sample FHIR JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.fhir.service_key import BOOKING_ORGANIZATION, service_of
from app.fhir.terminology import TerminologyError, load_terminology
from app.settings import PROJECT_ROOT

TERMS = load_terminology(PROJECT_ROOT / "rules" / "terminology.yaml")
LOCAL = "https://trust.example/clinic"
SNOMED = "http://snomed.info/sct"


def cc(*codings: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": s, "code": c} for s, c in codings]}


def appt(**elements: Any) -> dict[str, Any]:
    return {"resourceType": "Appointment", "status": "noshow", **elements}


BOOKED_BY_Y1 = {
    "extension": [{"url": BOOKING_ORGANIZATION, "valueReference": {"identifier": {"value": "Y1"}}}]
}


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        # Order of codings does not matter.
        (
            appt(serviceType=[cc((LOCAL, "a"), (LOCAL, "b"))]),
            appt(serviceType=[cc((LOCAL, "b"), (LOCAL, "a"))]),
            True,
        ),
        (
            appt(serviceType=[cc((LOCAL, "a")), cc((LOCAL, "b"))]),
            appt(serviceType=[cc((LOCAL, "b")), cc((LOCAL, "a"))]),
            True,
        ),
        # The same code in two code systems is two services.
        (
            appt(serviceType=[cc(("https://a.example/s", "x"))]),
            appt(serviceType=[cc(("https://b.example/s", "x"))]),
            False,
        ),
        # Spelling differences of one coding are not differences of meaning.
        (
            appt(serviceType=[cc((LOCAL, "Dental "))]),
            appt(serviceType=[cc((LOCAL + "/", "dental"))]),
            True,
        ),
        # Declared equivalent in terminology.yaml: one service across systems and elements.
        (
            appt(serviceType=[cc(("https://example.org/service", "dental"))]),
            appt(specialty=[cc(("https://chis.example/service-type", "DEN"))]),
            True,
        ),
        # A shared named service wins over an extra local coding.
        (
            appt(serviceType=[cc(("https://example.org/service", "dental"), (LOCAL, "d7"))]),
            appt(serviceType=[cc(("https://chis.example/service-type", "DEN"))]),
            True,
        ),
        # serviceType first, then specialty, then appointmentType, then booking organisation.
        (
            appt(serviceType=[cc((LOCAL, "a"))], specialty=[cc((LOCAL, "b"))]),
            appt(serviceType=[cc((LOCAL, "a"))]),
            True,
        ),
        (
            appt(specialty=[cc((LOCAL, "b"))], appointmentType=cc((LOCAL, "c"))),
            appt(specialty=[cc((LOCAL, "b"))]),
            True,
        ),
        (appt(appointmentType=cc((LOCAL, "c")), **BOOKED_BY_Y1), appt(**BOOKED_BY_Y1), False),
        # serviceCategory alone is too broad to name a service: the organisation decides.
        (appt(serviceCategory=[cc((LOCAL, "gp"))], **BOOKED_BY_Y1), appt(**BOOKED_BY_Y1), True),
    ],
)
def test_service_keys(first: dict[str, Any], second: dict[str, Any], same: bool) -> None:
    one, other = service_of(first, TERMS).key, service_of(second, TERMS).key
    assert one is not None and other is not None
    assert (one == other) == same


def dna(**elements: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": cc((SNOMED, "924331000000103")),
        "subject": {"reference": "Patient/c1"},
        **elements,
    }


def test_an_observation_never_takes_its_outcome_code_as_service() -> None:
    # Two DNA codes from one practice are one service: its performer.
    practice = {"performer": [{"reference": "Organization/p1", "type": "Organization"}]}
    one = service_of(dna(**practice), TERMS)
    other = service_of({**dna(**practice), "code": cc((SNOMED, "281399006"))}, TERMS)
    assert one.key == other.key == "org|organization/p1"
    # Nothing to go on (a generic code): unknown, never the outcome code.
    generic = service_of(dna(code=cc((SNOMED, "281399006"))), TERMS)
    assert generic.key is None
    # A service-specific code names a service of the terminology file, not itself.
    assert service_of(dna(), TERMS).key == "general-practice"


def test_an_observation_based_on_an_appointment_takes_its_service() -> None:
    data = dna(basedOn=[{"reference": "Appointment/a1"}])
    assert service_of(data, TERMS, {"Appointment/a1": "dental"}).key == "dental"


@pytest.mark.parametrize(
    ("code", "service"),
    [
        ("924331000000103", "general-practice"),  # DNA GP appointment
        ("956821000000104", "health-visiting"),  # DNA health visitor 3-4 month contact
        ("870401000000102", "camhs"),  # DNA CAMHS appointment
        ("201741000000102", "immunisation"),  # DNA child immunisation
        ("281399006", None),  # Did not attend: generic, names no service
        ("314503007", None),  # DNA hospital appointment: a hospital is many clinics
    ],
)
def test_a_service_specific_dna_code_names_its_service(code: str, service: str | None) -> None:
    """Hazard log H-03: only when nothing else names the service, and never the code itself."""
    assert service_of(dna(code=cc((SNOMED, code))), TERMS).key == service
    # A GP appointment's own coding lands on the same service.
    gp = appt(serviceType=[cc(("https://example.org/service", "gp"))])
    assert service_of(gp, TERMS).key == "general-practice"
    # A performer or a based-on appointment still comes first.
    practice = {"performer": [{"reference": "Organization/p1", "type": "Organization"}]}
    assert service_of(dna(code=cc((SNOMED, code)), **practice), TERMS).key == "org|organization/p1"
    based = dna(code=cc((SNOMED, code)), basedOn=[{"reference": "Appointment/a1"}])
    assert service_of(based, TERMS, {"Appointment/a1": "dental"}).key == "dental"


def test_an_outcome_code_mapped_to_an_unlisted_service_stops_start_up(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "rules" / "terminology.yaml").read_text()
    bad = tmp_path / "terminology.yaml"
    bad.write_text(text.replace('"924331000000103": general-practice', '"924331000000103": gp-x'))
    with pytest.raises(TerminologyError, match="names the service gp-x, which service_equivalents"):
        load_terminology(bad)


def test_long_keys_are_hashed_and_stable() -> None:
    many = appt(serviceType=[cc(*((LOCAL, f"code-{i}") for i in range(20)))])
    key = service_of(many, TERMS).key
    assert key is not None and key.startswith("sha256|") and len(key) <= 128
    assert service_of(many, TERMS).key == key


def test_a_coding_under_two_service_names_stops_start_up(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "rules" / "terminology.yaml").read_text()
    bad = tmp_path / "terminology.yaml"
    bad.write_text(
        text.replace(
            "    - {system: https://chis.example/service-type, code: HV}",
            "    - {system: https://chis.example/service-type, code: DEN}",
        )
    )
    with pytest.raises(TerminologyError, match="listed under both dental and health-visiting"):
        load_terminology(bad)
