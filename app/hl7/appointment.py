"""SCH, TQ1, AIS, AIL and AIG to Appointment, after the implementation guide's SIU maps:
the trigger event decides the status where it says what happened (S26 no-show, S15
cancelled); otherwise the filler status (SCH-25) does."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hl7.containers import Message, Segment

from app.hl7.datatypes import concept, entity_identifier, instant_of, organisation
from app.hl7.errors import TABLE_VALUE_NOT_FOUND, mapping_error, missing
from app.hl7.fields import first, segments, value

BOOKING_ORGANISATION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BookingOrganization"
)
CANCELLATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
# HL7 table 0278 (filler status) -> Appointment.status, the guide's concept map.
FILLER_STATUS = {
    "PENDING": "pending",
    "WAITLIST": "waitlist",
    "BOOKED": "booked",
    "OVERBOOK": "booked",
    "STARTED": "arrived",
    "COMPLETE": "fulfilled",
    "CANCELLED": "cancelled",
    "DC": "cancelled",
    "DELETED": "entered-in-error",
    "NOSHOW": "noshow",
}
EVENT_STATUS = {"S15": "cancelled", "S17": "entered-in-error", "S26": "noshow"}
# The FHIR cancellation reason codes' families: a sender's SCH-6 code in this form is read in
# that code system, so a carer's cancellation counts as one.
CANCELLATION_PREFIXES = ("pat", "prov", "maint", "meds-inc", "oth", "other")
# Duration units (SCH-10, TQ1-13.2) in minutes; none given is minutes, the v2 default.
DURATION_MINUTES = dict.fromkeys(("", "M", "MIN", "MINS", "MINUTE", "MINUTES"), 1) | dict.fromkeys(
    ("H", "HR", "HRS", "HOUR", "HOURS"), 60
)
LONGEST_MINUTES = 7 * 24 * 60


def appointment(
    msg: Message, event: str, patient_ref: str, facility: str, base: str
) -> dict[str, Any]:
    sch = first(msg, "SCH")
    if sch is None:
        raise missing("SCH", 2, "an SCH segment")
    identifiers = [
        found
        for field, kind in ((1, "PLAC"), (2, "FILL"))
        if (found := entity_identifier(sch, field, base, kind)) is not None
    ]
    if not identifiers:
        raise missing("SCH", 2, "an appointment id (SCH-2 filler or SCH-1 placer)")
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "identifier": identifiers,
        "status": _status(sch, event),
    }
    tq1 = first(msg, "TQ1")
    start = instant_of(tq1, 7, "TQ1") or instant_of(sch, 11, "SCH", comp=4)
    end = instant_of(tq1, 8, "TQ1") or instant_of(sch, 11, "SCH", comp=5)
    if start and not end:
        end = _end_after(start, sch, tq1)
    if start:
        data["start"] = start
    if end:
        data["end"] = end
    if data["status"] == "cancelled" and (reason := _cancellation(sch, base)):
        data["cancelationReason"] = reason
    if reason_code := concept(sch, 7, base):
        data["reasonCode"] = [reason_code]
    if kind := concept(sch, 8, base):
        data["appointmentType"] = kind
    services = [c for ais in segments(msg, "AIS") if (c := concept(ais, 3, base))]
    if services:
        data["serviceType"] = services
    ail = first(msg, "AIL")
    booking = value(ail, 3, 1, 4) or facility
    data["extension"] = [{"url": BOOKING_ORGANISATION, "valueReference": organisation(booking)}]
    data["participant"] = [
        {"actor": {"reference": patient_ref}, "status": "accepted"},
        *_others(msg),
    ]
    return data


def _end_after(start: str, sch: Segment, tq1: Segment | None) -> str | None:
    """The end of an appointment sent as a start and a duration (SCH-9 with SCH-10 units,
    else TQ1-13), as many PAS systems send it: FHIR wants a start with an end (app-3)."""
    for where, field, unit_field, amount, units in (
        ("SCH", 9, 10, value(sch, 9), value(sch, 10)),
        ("TQ1", 13, 13, value(tq1, 13), value(tq1, 13, 1, 2)),
    ):
        if not amount:
            continue
        per = DURATION_MINUTES.get(units.strip().upper())
        if per is None:
            raise mapping_error(
                where,
                unit_field,
                "is not a unit of time this service reads (minutes or hours)",
                TABLE_VALUE_NOT_FOUND,
            )
        try:
            minutes = float(amount) * per
        except ValueError:
            raise mapping_error(where, field, "must be a number") from None
        if not 0 < minutes <= LONGEST_MINUTES:
            raise mapping_error(where, field, "must be a duration of up to a week")
        return (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat()
    return None


def _status(sch: Any, event: str) -> str:
    if event in EVENT_STATUS:
        return EVENT_STATUS[event]
    filler = value(sch, 25).upper()
    if not filler:
        return "booked"
    if filler not in FILLER_STATUS:
        raise mapping_error("SCH", 25, "is not in HL7 table 0278", TABLE_VALUE_NOT_FOUND)
    return FILLER_STATUS[filler]


def _cancellation(sch: Any, base: str) -> dict[str, Any] | None:
    """SCH-6 (event reason). A code of the FHIR cancellation reason system (pat, prov...) is
    read in that system; any other code is kept as the sender's, and the cancellation then
    counts as one by whom is not known."""
    reason = concept(sch, 6, base)
    if reason is None:
        return None
    code = value(sch, 6).lower()
    if code.split("-")[0] in CANCELLATION_PREFIXES:
        coding = {"system": CANCELLATION_SYSTEM, "code": code}
        if display := value(sch, 6, 1, 2):
            coding["display"] = display
        reason["coding"] = [coding, *reason.get("coding", [])[1:]]
    return reason


def _others(msg: Message) -> list[dict[str, Any]]:
    """AIL (location) and AIG (person) as participants named, not referenced: this service
    stores neither Locations nor Practitioners."""
    out = []
    for ail in segments(msg, "AIL"):
        name = value(ail, 3, 1, 9) or value(ail, 3, 1, 1)
        if name:
            out.append({"actor": {"display": name}, "status": "accepted"})
    for aig in segments(msg, "AIG"):
        name = value(aig, 3, 1, 2) or value(aig, 3, 1, 1)
        if name:
            out.append({"actor": {"display": name}, "status": "accepted"})
    return out[:10]
