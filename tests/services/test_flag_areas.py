"""A concern's areas worked out from what reconciliation already read under its lock (each
member's stored Patient, where each event happened: `flag_events.AreaSources`) are exactly the
areas read again from the database (`agency_repo.area_sources`, the path a nurse's review
takes): the child's GP practice and managing organisation, and each piece of evidence's booking
organisation, across a family of two siblings."""

from __future__ import annotations

from collections import defaultdict

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.fhir.organisations import ODS_SYSTEM
from app.fhir.service_key import BOOKING_ORGANIZATION
from app.runtime import AppState
from app.services.concerns.flag_events import flag_events
from app.store.models import RaisedFlag
from app.store.webhook_models import FlagArea
from tests.conftest import FIXED_NOW
from tests.factories import appointment, created_id, nhs_number, patient, post, related_person


def _ods(code: str) -> dict[str, object]:
    return {"identifier": {"system": ODS_SYSTEM, "value": code}}


def test_areas_from_reconciliation_equal_the_areas_read_again(
    client: TestClient, state: AppState
) -> None:
    carer = nhs_number()
    kids = []
    for gp, managing in (("A81001", {"reference": "Organization/LA100"}), ("B82002", None)):
        extra = {"managingOrganization": managing} if managing else {}
        body = patient(birth="2026-01-10", generalPractitioner=[_ods(gp)], **extra)
        kid = created_id(post(client, "Patient", body))
        assert post(client, "RelatedPerson", related_person(f"Patient/{kid}", carer)).status_code
        kids.append(kid)
    for day, kid in enumerate(kids * 2, start=1):
        booked = [{"url": BOOKING_ORGANIZATION, "valueReference": _ods(f"C8{day}")}]
        start = f"2026-06-0{day}T09:00:00Z"
        r = post(
            client, "Appointment", appointment(f"Patient/{kid}", start=start, extension=booked)
        )
        assert r.status_code == 201, r.text

    def remembered_and_again(session: Session) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        remembered: dict[str, set[str]] = defaultdict(set)
        for flag_id, area in session.execute(select(FlagArea.flag_id, FlagArea.area)):
            remembered[flag_id].add(area)
        ids = list(session.scalars(select(RaisedFlag.flag_id)))
        events = flag_events(session, "changed", ids, FIXED_NOW, {})
        return dict(remembered), {e.flag_id: set(e.areas) for e in events}

    remembered, again = state.read(remembered_and_again)
    assert remembered == again
    every = set().union(*again.values())
    assert {"A81001", "B82002", "LA100"} <= every  # both GPs and the managing organisation
    assert {"C81", "C82", "C83", "C84"} & every  # booking organisations of the evidence
