"""Issue 8 item 9: impossible or implausible times get a 422 naming the element."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.fhir.checks import check_resource
from app.fhir.errors import FhirError

TODAY = date(2026, 6, 15)


def appt(**times: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "noshow",
        "participant": [{"actor": {"reference": "Patient/c1"}, "status": "accepted"}],
        **times,
    }


def obs(**times: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {}, **times}


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        (appt(start="0001-01-01T09:00:00Z", end="0001-01-01T10:00:00Z"), "Appointment.start"),
        (appt(start="1899-12-31T23:59:59Z", end="2026-01-01T10:00:00Z"), "Appointment.start"),
        (appt(start="9999-12-31T09:00:00Z", end="9999-12-31T10:00:00Z"), "Appointment.start"),
        (appt(start="2028-06-16T00:00:00Z", end="2028-06-16T01:00:00Z"), "Appointment.start"),
        (appt(start="2026-06-01T10:00:00Z", end="2026-06-01T09:59:59Z"), "Appointment.end"),
        (appt(start="2026-06-01T10:00:00Z", end="2026-05-31"), "Appointment.end"),
        (obs(effectiveDateTime="1850"), "Observation.effectiveDateTime"),
        (
            obs(effectivePeriod={"start": "2026-06-02", "end": "2026-06-01"}),
            "Observation.effectivePeriod.end",
        ),
        (obs(issued="3026-01-01T00:00:00Z"), "Observation.issued"),
        ({"resourceType": "Patient", "birthDate": "1899"}, "Patient.birthDate"),
    ],
)
def test_implausible_times_are_refused(resource: dict[str, Any], where: str) -> None:
    with pytest.raises(FhirError) as caught:
        check_resource(resource, TODAY)
    assert caught.value.status == 422
    assert where in [issue.expression for issue in caught.value.issues]


@pytest.mark.parametrize(
    "resource",
    [
        appt(start="1900-01-01T00:00:00Z", end="1900-01-01T01:00:00Z"),
        appt(start="2028-06-15T09:00:00Z", end="2028-06-15T10:00:00Z"),  # two years ahead
        appt(start="2026-06-01T10:00:00Z", end="2026-06-01T10:00:00Z"),  # end == start
        appt(start="2026-06-01T10:00:00Z", end="2026-06-01"),  # a date-only end that day
        obs(effectivePeriod={"start": "2026-06-01", "end": "2026-06-01"}),
        {"resourceType": "Patient", "birthDate": "1900"},
    ],
)
def test_plausible_times_pass(resource: dict[str, Any]) -> None:
    check_resource(resource, TODAY)
