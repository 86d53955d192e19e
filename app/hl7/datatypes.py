"""v2 data types as FHIR data types, after the implementation guide's data type maps: DTM to
date and instant, CX to Identifier, XPN to HumanName, CWE to CodeableConcept, EI to
Identifier, XON to an organisation reference."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from hl7.containers import Segment

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.hl7.errors import mapping_error
from app.hl7.fields import value

# A v2 time without an offset is the sender's local time: UK systems mean London's.
LONDON = ZoneInfo("Europe/London")
_DTM = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$"
)
NHS_OID = "2.16.840.1.113883.2.1.4.1"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
CODING_SYSTEMS = {  # HL7 table 0396 names senders use, as FHIR system URIs
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "SNOMED": "http://snomed.info/sct",
    "LN": "http://loinc.org",
    "HL70063": "http://terminology.hl7.org/CodeSystem/v2-0063",
    "HL70276": "http://terminology.hl7.org/CodeSystem/v2-0276",
    "HL70277": "http://terminology.hl7.org/CodeSystem/v2-0277",
}


def local_system(base: str, *parts: str) -> str:
    """A system URI for a sender's local code or identifier namespace."""
    return "/".join([base.rstrip("/"), *(quote(p, safe="") for p in parts if p)])


def date_of(seg: Segment, field: int, where: str) -> str | None:
    """DTM as a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD); None when absent."""
    m = _match(value(seg, field), where, field)
    if m is None:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    parts = [year, *(p for p in (month, day) if p)]
    _check_calendar(year, month or "01", day or "01", where, field)
    return "-".join(parts)


def instant_of(seg: Segment | None, field: int, where: str, comp: int = 1) -> str | None:
    """DTM as a FHIR instant with its offset (London time when the sender gave none)."""
    if seg is None:
        return None
    m = _match(value(seg, field, comp=comp), where, field)
    if m is None:
        return None
    y, mo, d, h, mi, s, offset = m.groups()
    _check_calendar(y, mo or "01", d or "01", where, field)
    text = f"{y}{mo or '01'}{d or '01'}{h or '00'}{mi or '00'}{s or '00'}"
    try:
        moment = datetime.strptime(text, "%Y%m%d%H%M%S")
        if offset:
            stamp = datetime.strptime(text + offset, "%Y%m%d%H%M%S%z")
        else:
            stamp = moment.replace(tzinfo=LONDON)
    except ValueError:
        raise mapping_error(where, field, "is not a valid date and time") from None
    return stamp.isoformat()


def _match(text: str, where: str, field: int) -> re.Match[str] | None:
    if not text:
        return None
    m = _DTM.match(text)
    if m is None:
        raise mapping_error(where, field, "must be a date/time as YYYYMMDD[HHMM[SS]][+ZZZZ]")
    return m


def _check_calendar(year: str, month: str, day: str, where: str, field: int) -> None:
    try:
        datetime(int(year), int(month), int(day))
    except ValueError:
        raise mapping_error(where, field, "is not a calendar date") from None


def identifier(seg: Segment, field: int, rep: int, base: str) -> dict[str, Any] | None:
    """CX: an NHS number (assigning authority NHS, or type NH) in the NHS number system;
    any other number (a hospital number) in its assigning authority's namespace."""
    number = value(seg, field, rep, 1)
    if not number:
        return None
    authority, authority_uid = value(seg, field, rep, 4, 1), value(seg, field, rep, 4, 2)
    kind = value(seg, field, rep, 5)
    if authority.upper() == "NHS" or authority_uid == NHS_OID or kind.upper() == "NH":
        return {"system": NHS_NUMBER_SYSTEM, "value": number.replace(" ", "")}
    out: dict[str, Any] = {"system": _namespace(authority, authority_uid, base), "value": number}
    if kind:
        out["type"] = {"coding": [{"system": V2_0203, "code": kind}]}
    return out


def entity_identifier(
    seg: Segment, field: int, base: str, kind: str, rep: int = 1
) -> dict[str, Any] | None:
    """EI (placer or filler appointment id) as an Identifier of type PLAC or FILL."""
    number = value(seg, field, rep, 1)
    if not number:
        return None
    namespace = value(seg, field, rep, 2)
    uid, uid_type = value(seg, field, rep, 3), value(seg, field, rep, 4)
    system = (
        f"urn:oid:{uid}"
        if uid and uid_type.upper() == "ISO"
        else local_system(base, "appointment", namespace or "local")
    )
    return {
        "system": system,
        "value": number,
        "type": {"coding": [{"system": V2_0203, "code": kind}]},
    }


def _namespace(authority: str, uid: str, base: str) -> str:
    if uid and re.fullmatch(r"[0-2](\.\d+)+", uid):
        return f"urn:oid:{uid}"
    return local_system(base, "id", authority or "local")


def human_name(seg: Segment, field: int, rep: int) -> dict[str, Any] | None:
    family, given, middle = (value(seg, field, rep, c) for c in (1, 2, 3))
    suffix, prefix, use = value(seg, field, rep, 4), value(seg, field, rep, 5), value(
        seg, field, rep, 7
    )
    name: dict[str, Any] = {}
    if family:
        name["family"] = family
    if given or middle:
        name["given"] = [g for g in (given, middle) if g]
    if prefix:
        name["prefix"] = [prefix]
    if suffix:
        name["suffix"] = [suffix]
    if name and use.upper() in NAME_USES:
        name["use"] = NAME_USES[use.upper()]
    return name or None


# HL7 table 0200 -> FHIR name-use (the implementation guide's concept map, the common codes).
NAME_USES = {"L": "official", "D": "usual", "M": "maiden", "N": "nickname", "A": "usual"}


def concept(
    seg: Segment | None, field: int, base: str, rep: int = 1
) -> dict[str, Any] | None:
    """CWE: code^text^system (and the alternate triple) as a CodeableConcept."""
    codings = []
    for offset in (0, 3):
        code = value(seg, field, rep, 1 + offset)
        if code:
            system_name = value(seg, field, rep, 3 + offset)
            codings.append(
                {
                    "system": coding_system(system_name, base),
                    "code": code,
                    **({"display": d} if (d := value(seg, field, rep, 2 + offset)) else {}),
                }
            )
    text = value(seg, field, rep, 2)
    if not codings and not text:
        return None
    return {**({"coding": codings} if codings else {}), **({"text": text} if text else {})}


def coding_system(name: str, base: str) -> str:
    if name.upper() in CODING_SYSTEMS:
        return CODING_SYSTEMS[name.upper()]
    if name.startswith(("http://", "https://", "urn:")):
        return name
    return local_system(base, "code", name or "local")


def organisation(code: str, display: str = "") -> dict[str, Any]:
    """An organisation named by its ODS code (the form UK Core references take)."""
    ref: dict[str, Any] = {"identifier": {"system": ODS_SYSTEM, "value": code}}
    if display:
        ref["display"] = display
    return ref
