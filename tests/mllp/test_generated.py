"""Generated SIU messages over one real MLLP connection: Hypothesis draws valid S12, S14, S15
and S26 messages (dates, services, filler statuses, reasons, carers in NK1 or none) and bad
variants of them (no PID-3, an impossible date, an unknown trigger event). Every message is
answered on the connection: AA for a valid one, whose appointment then has the status its
event gives (an S26 noshow); AE or AR for a bad one, which writes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.runtime import AppState
from app.store.models import ResourceVersion
from tests.factories import nhs_number
from tests.hl7_messages import ack_code, listening, nk1, send, siu, source

pytestmark = pytest.mark.own_connections("a real MLLP listener on its own thread")

SERVICES = [
    "DENT^Paediatric dental^L",
    "PAED^Paediatric outpatients^L",
    "SALT^Speech and language therapy^L",
    "IMM^Immunisation clinic^L",
]
# SCH-25 filler status (table 0278) -> the status an S12 or S14 gives.
FILLER = {"": "booked", "Booked": "booked", "Pending": "pending", "Complete": "fulfilled"}
EVENT = {"S15": "cancelled", "S26": "noshow"}
BAD = {"no PID-3": "AE", "bad date": "AE", "bad birth date": "AE", "unknown trigger": "AR"}


@dataclass(frozen=True)
class Case:
    event: str
    start: datetime
    birth: date
    service: str
    filler: str
    reason: str
    carer: str | None  # table 0063 code of an NK1, None for no NK1
    carer_identified: bool
    bad: str | None  # None: a valid message; else the kind of fault (a key of BAD)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    event = draw(st.sampled_from(["S12", "S14", "S15", "S26"]))
    start = datetime(2025, 7, 1, 8) + timedelta(
        days=draw(st.integers(0, 340)), minutes=15 * draw(st.integers(0, 36))
    )
    return Case(
        event=event,
        start=start,
        birth=date(2010, 1, 1) + timedelta(days=draw(st.integers(0, 5600))),
        service=draw(st.sampled_from(SERVICES)),
        filler=draw(st.sampled_from(sorted(FILLER))) if event in ("S12", "S14") else "",
        reason=draw(st.sampled_from(["", "pat^Patient", "prov^Provider"]))
        if event == "S15"
        else "",
        carer=draw(st.none() | st.sampled_from(["MTH", "FTH", "GRD"])),
        carer_identified=draw(st.booleans()),
        bad=draw(st.none() | st.sampled_from(sorted(BAD))),
    )


def _message(case: Case, facility: str, nhs: str, appt: str) -> str:
    text = siu(
        facility,
        case.event,
        uuid.uuid4().hex[:16],
        nhs,
        appt,
        start=case.start.strftime("%Y%m%d%H%M%S"),
        status=case.filler,
        reason=case.reason,
        birth=case.birth.strftime("%Y%m%d"),
        service=case.service,
    )
    segments = text.rstrip("\r").split("\r")
    if case.carer:
        carer = nk1(nhs_number() if case.carer_identified else "", code=case.carer)
        segments.insert(4, carer)  # after PID
    if case.bad == "no PID-3":
        segments[3] = segments[3].replace(f"{nhs}^^^NHS^NH", "", 1)
    elif case.bad == "bad date":
        tq1 = segments[2].split("|")
        tq1[7] = tq1[7][:4] + "13" + tq1[7][6:]  # month 13
        segments[2] = "|".join(tq1)
    elif case.bad == "bad birth date":
        segments[3] = segments[3].replace(case.birth.strftime("|%Y%m%d|"), "|20200230|", 1)
    elif case.bad == "unknown trigger":
        segments[0] = segments[0].replace(f"SIU^{case.event}^", "SIU^S99^", 1)
    return "\r".join(segments) + "\r"


def _versions(state: AppState) -> int:
    return state.read(lambda s: s.scalar(select(func.count()).select_from(ResourceVersion)))


def _expected_status(case: Case) -> str:
    return EVENT.get(case.event) or FILLER[case.filler]


def test_generated_messages_are_all_answered_and_only_valid_ones_stored(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    seen: list[str] = []
    with listening(state) as listener:

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(case=cases())
        def check(case: Case) -> None:
            nhs, appt = nhs_number(), f"G{uuid.uuid4().hex[:10]}"
            before = _versions(state)
            [answer] = send(listener, _message(case, facility, nhs, appt))
            seen.append(ack_code(answer))
            if case.bad is not None:
                assert ack_code(answer) == BAD[case.bad], (case, answer)
                assert _versions(state) == before, case
                return
            assert ack_code(answer) == "AA", (case, answer)
            found = client.get("/fhir/Patient", params={"identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"})
            [child] = [e["resource"] for e in found.json()["entry"]]
            booked = client.get("/fhir/Appointment", params={"patient": child["id"]}).json()
            [appointment] = [e["resource"] for e in booked["entry"]]
            assert any(i["value"] == appt for i in appointment["identifier"])
            assert appointment["status"] == _expected_status(case), case
            carers = client.get("/fhir/RelatedPerson", params={"patient": child["id"]}).json()
            assert len(carers.get("entry", [])) == (1 if case.carer else 0), case

        check()
    # The listener answered every example, good and bad ones alike.
    assert len(seen) >= 10 and "AA" in seen and {"AE", "AR"} & set(seen), seen
