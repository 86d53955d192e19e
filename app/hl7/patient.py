"""PID (and PD1) to Patient, after the implementation guide's PID and PD1 segment maps."""

from __future__ import annotations

from typing import Any

from hl7.containers import Message

from app.hl7.datatypes import date_of, human_name, identifier, instant_of, organisation
from app.hl7.errors import TABLE_VALUE_NOT_FOUND, mapping_error, missing
from app.hl7.fields import first, repetitions, value

# HL7 table 0001 administrative sex -> FHIR administrative-gender.
GENDERS = {"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown", "N": "unknown"}
MAX_REPEATS = 20  # no child has more identifiers or names than this; more is a broken message


def patient(msg: Message, base: str) -> dict[str, Any]:
    pid = first(msg, "PID")
    if pid is None:
        raise missing("PID", 3, "a PID segment")
    identifiers = [
        found
        for rep in range(1, min(repetitions(pid, 3), MAX_REPEATS) + 1)
        if (found := identifier(pid, 3, rep, base)) is not None
    ]
    if not identifiers:
        raise missing("PID", 3, "a patient identifier (PID-3)")
    data: dict[str, Any] = {"resourceType": "Patient", "identifier": identifiers}
    names = [
        found
        for rep in range(1, min(repetitions(pid, 5), MAX_REPEATS) + 1)
        if (found := human_name(pid, 5, rep)) is not None
    ]
    if names:
        data["name"] = names
    if birth := date_of(pid, 7, "PID"):
        data["birthDate"] = birth
    sex = value(pid, 8).upper()
    if sex:
        if sex not in GENDERS:
            raise mapping_error("PID", 8, "is not in HL7 table 0001", TABLE_VALUE_NOT_FOUND)
        data["gender"] = GENDERS[sex]
    if address := _address(pid):
        data["address"] = [address]
    died = instant_of(pid, 29, "PID")
    if died:
        data["deceasedDateTime"] = died
    elif value(pid, 30).upper() == "Y":
        data["deceasedBoolean"] = True
    elif value(pid, 30).upper() == "N":
        data["deceasedBoolean"] = False
    if practice := _practice(msg):
        data["generalPractitioner"] = [practice]
    return data


def _address(pid: Any) -> dict[str, Any] | None:
    lines = [line for line in (value(pid, 11, 1, 1, 1), value(pid, 11, 1, 2)) if line]
    city, district, postcode = value(pid, 11, 1, 3), value(pid, 11, 1, 4), value(pid, 11, 1, 5)
    address: dict[str, Any] = {}
    if lines:
        address["line"] = lines
    if city:
        address["city"] = city
    if district:
        address["district"] = district
    if postcode:
        address["postalCode"] = postcode
    return address or None


def _practice(msg: Message) -> dict[str, Any] | None:
    """PD1-3 (patient primary facility, XON): the GP practice by its ODS code (XON-10, else
    XON-3), which agencies' areas are matched against."""
    pd1 = first(msg, "PD1")
    code = value(pd1, 3, 1, 10) or value(pd1, 3, 1, 3)
    return organisation(code, value(pd1, 3, 1, 1)) if code else None
