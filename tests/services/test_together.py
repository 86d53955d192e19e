"""Which single writes a group commit stores in one pass (app/services/records/together.py):
only appointment outcomes that cannot read what another of them writes. Everything else runs
one write after another. Pure: no database."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.records.resources import ClientWrite, check_create, check_update
from app.services.records.together import may_go_together
from tests.conftest import FIXED_NOW
from tests.factories import appointment, patient


def _may(_type: str, _interaction: str) -> bool:
    return True


def _post(body: dict[str, Any] | None = None, **kwargs: Any) -> ClientWrite:
    body = body or appointment("Patient/p1", "noshow", "2026-06-10T09:00:00Z")
    return ClientWrite(check_create(body["resourceType"], body, FIXED_NOW), **kwargs)


def _put(rid: str) -> ClientWrite:
    body = appointment("Patient/p1", "noshow", "2026-06-10T09:00:00Z") | {"id": rid}
    return ClientWrite(check_update("Appointment", rid, body, FIXED_NOW), may=_may)


def _based_on(reference: str) -> ClientWrite:
    body = appointment("Patient/p1", "noshow", "2026-06-10T09:00:00Z")
    body["basedOn"] = [{"reference": reference}]
    return _post(body)


DNA = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "924331000000103"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2026-06-10T09:00:00Z",
}


@pytest.mark.parametrize(
    ("writes", "together"),
    [
        ([_post(), _post()], True),
        ([_post(), _put("a-1"), _put("a-2")], True),
        ([_based_on("ServiceRequest/s1"), _post()], True),  # names no appointment
        ([_post()], False),  # one write is a group of one
        ([], False),
        ([_put("a-1"), _put("a-1")], False),  # both would plan one next version
        ([_post(), _post(if_none_exist="identifier=x|1")], False),  # a search
        ([_based_on("Appointment/a-0"), _post()], False),  # reads its stored service
        ([_based_on("https://gp.example/fhir/Appointment/a-0"), _post()], False),
        ([_post(), _post(patient())], False),  # a Patient's consequences
        ([_post(dict(DNA)), _post(dict(DNA))], True),  # did-not-attend Observations
        # Of two types, one could name a resource the other creates in the pass.
        ([_post(), _post(dict(DNA))], False),
        ([_post(), lambda ctx: None], False),  # a use case only known as a function
    ],
    ids=[
        "posts",
        "posts-and-puts",
        "based-on-a-service-request",
        "alone",
        "none",
        "one-id-twice",
        "conditional",
        "based-on-an-appointment",
        "based-on-an-absolute-appointment",
        "a-patient",
        "observations",
        "two-types",
        "opaque",
    ],
)
def test_which_writes_go_together(writes: list[object], together: bool) -> None:
    assert may_go_together(writes) is together
