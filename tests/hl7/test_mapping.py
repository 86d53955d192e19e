"""The pure HL7 v2 to FHIR mapping, table-driven, without a database or a socket."""

from __future__ import annotations

import pytest

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.hl7.errors import Hl7Error
from app.hl7.header import parse_message, read_header
from app.hl7.translate import translate
from tests.hl7_messages import adt, nk1, pid, siu

BASE = "https://wnb.dev/fhir/hl7v2"
P = frozenset({"P"})


def _translate(text: str):  # type: ignore[no-untyped-def]
    msg = parse_message(text)
    return translate(msg, read_header(msg, P), "urn:uuid:child", BASE)


@pytest.mark.parametrize(
    ("event", "filler", "status"),
    [
        ("S26", "", "noshow"),
        ("S15", "", "cancelled"),
        ("S17", "", "entered-in-error"),
        ("S12", "", "booked"),
        ("S12", "Pending", "pending"),
        ("S14", "Complete", "fulfilled"),
        ("S14", "Started", "arrived"),
        ("S14", "Noshow", "noshow"),
        ("S14", "Waitlist", "waitlist"),
        ("S13", "Booked", "booked"),
    ],
)
def test_appointment_status_from_the_event_or_the_filler_status(
    event: str, filler: str, status: str
) -> None:
    t = _translate(siu("RX1", event, "C1", "9434765919", "A1", status=filler))
    assert t.appointment is not None and t.appointment["status"] == status


@pytest.mark.parametrize(
    ("stamp", "instant"),
    [
        ("20260601090000", "2026-06-01T09:00:00+01:00"),  # London summer time
        ("20260115090000", "2026-01-15T09:00:00+00:00"),
        ("20260601090000+0000", "2026-06-01T09:00:00+00:00"),
        ("202606010930", "2026-06-01T09:30:00+01:00"),
    ],
)
def test_times_without_an_offset_are_london_time(stamp: str, instant: str) -> None:
    t = _translate(siu("RX1", "S26", "C1", "9434765919", "A1", start=stamp))
    assert t.appointment is not None and t.appointment["start"] == instant


def test_pid_maps_the_nhs_number_hospital_number_and_demographics() -> None:
    t = _translate(adt("RX1", "A28", "C1", pid("9434765919", "RX77"), nk1("9449306060")))
    assert t.patient["identifier"][0] == {"system": NHS_NUMBER_SYSTEM, "value": "9434765919"}
    assert t.patient["identifier"][1]["value"] == "RX77"
    assert t.patient["identifier"][1]["type"]["coding"][0]["code"] == "MR"
    assert t.patient["birthDate"] == "2020-03-01" and t.patient["gender"] == "female"
    [carer] = t.carers
    assert carer["patient"] == {"reference": "urn:uuid:child"}
    assert carer["relationship"][0]["coding"][0]["code"] == "MTH"
    assert carer["identifier"] == [{"system": NHS_NUMBER_SYSTEM, "value": "9449306060"}]


def test_a_carer_without_an_identifier_keeps_one_id_across_resends() -> None:
    text = adt("RX1", "A31", "C1", pid("9434765919"), nk1(code="GRD", given="Pat"))
    first, again = _translate(text), _translate(text.replace("|C1|", "|C2|"))
    assert first.carers[0]["id"] == again.carers[0]["id"]
    assert first.carers[0]["relationship"][0]["coding"][0]["code"] == "GUARD"


def test_a_carer_cancellation_reason_is_read_in_the_fhir_code_system() -> None:
    t = _translate(siu("RX1", "S15", "C1", "9434765919", "A1", reason="PAT^Parent cancelled"))
    assert t.appointment is not None
    coding = t.appointment["cancelationReason"]["coding"][0]
    assert coding["system"].endswith("appointment-cancellation-reason")
    assert coding["code"] == "pat"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("|20200301|", "|2020-03-01|"), "PID-7"),
        (("|20200301|", "|20200231|"), "PID-7"),
        (("9434765919^^^NHS^NH", ""), "PID-3"),
        (("|F|", "|X|"), "PID-8"),
    ],
)
def test_unmappable_fields_are_named(change: tuple[str, str], where: str) -> None:
    text = siu("RX1", "S26", "C1", "9434765919", "A1").replace(*change, 1)
    with pytest.raises(Hl7Error) as caught:
        _translate(text)
    assert caught.value.ack == "AE" and caught.value.location == where


def _with_duration(sch9: str, sch10: str, tq113: str = "") -> str:
    """An S26 that gives its start and a duration (SCH-9/SCH-10, or TQ1-13) but no end."""
    segments = siu("RX1", "S26", "C1", "9434765919", "A1").split("\r")
    sch, tq1 = segments[1].split("|"), segments[2].split("|")
    sch[9], sch[10] = sch9, sch10
    tq1[8] = ""
    tq1 += [""] * (14 - len(tq1))
    tq1[13] = tq113
    segments[1], segments[2] = "|".join(sch), "|".join(tq1)
    return "\r".join(segments)


@pytest.mark.parametrize(
    ("sch9", "sch10", "tq113", "end"),
    [
        ("15", "MIN^Minutes^ISO+", "", "2026-06-01T09:15:00+01:00"),
        ("15", "m", "", "2026-06-01T09:15:00+01:00"),
        ("1", "HR", "", "2026-06-01T10:00:00+01:00"),
        ("20", "", "", "2026-06-01T09:20:00+01:00"),  # no units: minutes, the v2 default
        ("", "", "30^min", "2026-06-01T09:30:00+01:00"),
    ],
)
def test_a_start_and_a_duration_give_the_end(sch9: str, sch10: str, tq113: str, end: str) -> None:
    """H-150: a PAS that sends the start and a duration, no end, had every appointment refused
    (FHIR app-3 wants a start with an end)."""
    t = _translate(_with_duration(sch9, sch10, tq113))
    assert t.appointment is not None
    assert (t.appointment["start"], t.appointment["end"]) == ("2026-06-01T09:00:00+01:00", end)


@pytest.mark.parametrize(
    ("sch9", "sch10", "where"),
    [("15", "WK", "SCH-10"), ("soon", "MIN", "SCH-9"), ("0", "MIN", "SCH-9")],
)
def test_a_duration_that_cannot_be_read_is_named(sch9: str, sch10: str, where: str) -> None:
    with pytest.raises(Hl7Error) as caught:
        _translate(_with_duration(sch9, sch10))
    assert caught.value.ack == "AE" and caught.value.location == where
