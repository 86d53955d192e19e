"""Where in the message a FHIR element came from: a refusal by the write path (422 at
`Appointment.start`) is answered with an ERR naming the v2 segment and field (TQ1-7)."""

from __future__ import annotations

import re

from hl7.containers import Message

from app.hl7.fields import first, value

ORIGINS: dict[str, tuple[str, int]] = {
    "Patient.identifier": ("PID", 3),
    "Patient.name": ("PID", 5),
    "Patient.birthDate": ("PID", 7),
    "Patient.gender": ("PID", 8),
    "Patient.address": ("PID", 11),
    "Patient.deceased": ("PID", 29),
    "Patient.generalPractitioner": ("PD1", 3),
    "Patient.link": ("MRG", 1),
    "Patient": ("PID", 3),
    "RelatedPerson.identifier": ("NK1", 33),
    "RelatedPerson.name": ("NK1", 2),
    "RelatedPerson.relationship": ("NK1", 3),
    "RelatedPerson.period": ("NK1", 8),
    "RelatedPerson.patient": ("PID", 3),
    "RelatedPerson": ("NK1", 33),
    "Appointment.identifier": ("SCH", 2),
    "Appointment.status": ("SCH", 25),
    "Appointment.cancelationReason": ("SCH", 6),
    "Appointment.reasonCode": ("SCH", 7),
    "Appointment.appointmentType": ("SCH", 8),
    "Appointment.serviceType": ("AIS", 3),
    "Appointment.extension": ("AIL", 3),
    "Appointment.participant": ("PID", 3),
    "Appointment.start": ("TQ1", 7),
    "Appointment.end": ("TQ1", 8),
    "Appointment": ("SCH", 2),
}
_INDEX = re.compile(r"\[\d+\]")


def origin(expression: str | None, msg: Message) -> tuple[str, int | None]:
    """The (segment, field) an expression such as `Appointment.participant[0].actor` came
    from; the segment alone when no element is known, MSH when nothing is."""
    if not expression:
        return "MSH", None
    path = _INDEX.sub("", expression)
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        found = ORIGINS.get(".".join(parts[:n]))
        if found is None:
            continue
        segment, field = found
        if segment == "TQ1" and not value(first(msg, "TQ1"), field):
            return "SCH", 11  # the sender gave the time in SCH-11 instead
        return segment, field
    return "MSH", None
