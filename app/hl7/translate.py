"""One message to the resources it carries: SIU to Patient and Appointment, ADT to Patient
and RelatedPersons (A40 also names the record merged away), after the guide's message maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hl7.containers import Message

from app.hl7.appointment import appointment
from app.hl7.carers import carers
from app.hl7.datatypes import identifier
from app.hl7.errors import missing
from app.hl7.fields import first, repetitions
from app.hl7.header import Header
from app.hl7.patient import patient

MAX_PRIOR = 20


@dataclass
class Translation:
    patient: dict[str, Any]
    carers: list[dict[str, Any]] = field(default_factory=list)
    appointment: dict[str, Any] | None = None
    # A40: the identifiers (MRG-1) of the record that the PID's record replaces.
    prior: list[dict[str, Any]] = field(default_factory=list)

    @property
    def demographics(self) -> bool:
        """Whether the message is the sender's statement of who the patient is (ADT), which
        may create and change the Patient; an SIU only names the patient of an appointment."""
        return self.appointment is None


def translate(msg: Message, header: Header, patient_ref: str, base: str) -> Translation:
    """The resources of `msg`, each pointing at the patient as `patient_ref`. Raises Hl7Error
    (AE) naming the segment and field that cannot be mapped."""
    person = patient(msg, base)
    key = f"{person['identifier'][0]['system']}|{person['identifier'][0]['value']}"
    out = Translation(patient=person, carers=carers(msg, patient_ref, key, base))
    if header.message_type == "SIU":
        out.appointment = appointment(msg, header.event, patient_ref, header.facility, base)
    elif header.event == "A40":
        mrg = first(msg, "MRG")
        out.prior = [
            found
            for rep in range(1, min(repetitions(mrg, 1), MAX_PRIOR) + 1)
            if mrg is not None and (found := identifier(mrg, 1, rep, base)) is not None
        ]
        if not out.prior:
            raise missing("MRG", 1, "the prior patient identifier (MRG-1)")
    return out


def retarget(t: Translation, patient_ref: str) -> None:
    """Point every resource of `t` at a stored patient instead of the one in the message."""
    for carer in t.carers:
        carer["patient"] = {"reference": patient_ref}
    if t.appointment is not None:
        t.appointment["participant"][0]["actor"] = {"reference": patient_ref}
