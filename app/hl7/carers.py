"""NK1 (next of kin) to RelatedPerson: the carers who bring the child, after the
implementation guide's NK1 segment map."""

from __future__ import annotations

import uuid
from typing import Any

from hl7.containers import Message, Segment

from app.hl7.datatypes import date_of, human_name, identifier
from app.hl7.fields import repetitions, segments, value

V2_0063 = "http://terminology.hl7.org/CodeSystem/v2-0063"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# HL7 table 0063 -> v3 RoleCode, as the guide's concept map: the family code the rest of the
# service (and UK Core) reads. A code not listed keeps its table 0063 coding.
ROLE_CODES = {
    "MTH": "MTH",
    "FTH": "FTH",
    "PAR": "PRN",
    "GRD": "GUARD",
    "CGV": "GUARD",
    "GRP": "GRPRN",
    "SIB": "SIB",
    "BRO": "BRO",
    "SIS": "SIS",
    "EXF": "FAMMEMB",
    "FND": "FRND",
    "SPO": "SPS",
    "DOM": "DOMPART",
}
CARER_NAMESPACE = uuid.UUID("5b0c1c4e-9f7e-4c43-8a43-3a1f1c0b22d1")
MAX_CARERS = 20


def carers(msg: Message, patient_ref: str, patient_key: str, base: str) -> list[dict[str, Any]]:
    """One RelatedPerson per NK1 of `patient_ref`. `patient_key` (the child's first identifier)
    makes the id of a carer sent without any identifier stable across re-sends."""
    out = []
    for nk1 in segments(msg, "NK1")[:MAX_CARERS]:
        carer = _carer(nk1, patient_ref, base)
        if carer is None:
            continue
        if not carer.get("identifier"):
            # No identifier: the same carer of the same child must land on the same record
            # each time the sender repeats the message, so the id is derived from them.
            seed = f"{patient_key}|{_code(nk1)}|{carer.get('name')}"
            carer["id"] = str(uuid.uuid5(CARER_NAMESPACE, seed))
        out.append(carer)
    return out


def _carer(nk1: Segment, patient_ref: str, base: str) -> dict[str, Any] | None:
    identifiers = [
        found
        for rep in range(1, min(repetitions(nk1, 33), MAX_CARERS) + 1)
        if (found := identifier(nk1, 33, rep, base)) is not None
    ]
    name = human_name(nk1, 2, 1)
    if not identifiers and name is None:
        return None  # an empty NK1 names nobody
    data: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": patient_ref},
    }
    if identifiers:
        data["identifier"] = identifiers
    if name:
        data["name"] = [name]
    if code := _code(nk1):
        mapped = ROLE_CODES.get(code.upper())
        coding = (
            {"system": ROLE_CODE, "code": mapped}
            if mapped
            else {"system": V2_0063, "code": code}
        )
        if display := value(nk1, 3, 1, 2):
            coding["display"] = display
        data["relationship"] = [{"coding": [coding]}]
    period = {}
    if start := date_of(nk1, 8, "NK1"):
        period["start"] = start
    if end := date_of(nk1, 9, "NK1"):
        period["end"] = end
    if period:
        data["period"] = period
    return data


def _code(nk1: Segment) -> str:
    return value(nk1, 3, 1, 1)
