"""Coding an appointment outcome: which child, when, which service, which category."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.fhir.checks import walk
from app.fhir.dates import age_in_days, age_in_years, parse_instant
from app.fhir.references import split_local
from app.fhir.terminology import Category, Terminology

BOOKING_ORGANIZATION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BookingOrganization"
)
SERVICE_PATHS = (
    "serviceType[].coding[]",
    "specialty[].coding[]",
    "serviceCategory[].coding[]",
    "appointmentType.coding[]",
)


@dataclass(frozen=True)
class Outcome:
    """A coded event, before it knows its row."""

    child_id: str
    event_at: datetime
    category: Category
    outcome_system: str
    outcome_code: str
    is_child: bool
    age_days: int | None
    service_system: str | None
    service_code: str | None
    service_display: str | None
    organisation: str | None
    source_system: str | None
    original_codes: list[dict[str, str]]


def subject_patient(data: dict[str, Any]) -> str | None:
    """The Patient id an Appointment or Observation is about (references already resolved)."""
    if data["resourceType"] == "Appointment":
        refs = [p.get("actor") or {} for p in data.get("participant", [])]
    else:
        refs = [data.get("subject") or {}]
    for ref in refs:
        local = split_local(ref.get("reference") or "")
        if local and local[0] == "Patient":
            return local[1]
    return None


def code_outcome(
    data: dict[str, Any], terms: Terminology, birth_date: date | None, recorded_at: datetime
) -> Outcome | None:
    """The coded event for an Appointment or Observation, or None when it is not an outcome."""
    child = subject_patient(data)
    if child is None:
        return None
    original = list(_original_codes(data))
    category = _category(data, terms, original)
    if category is None:
        return None
    event_at = _event_time(data) or recorded_at
    is_child = (
        birth_date is None or age_in_years(birth_date, event_at.date()) < terms.adult_age_years
    )
    if category == "was-not-brought" and not is_child:
        category = "did-not-attend"
    elif category == "did-not-attend" and is_child:
        category = "was-not-brought"
    written = terms.written_codes[category]
    service = _service(data)
    return Outcome(
        child_id=child,
        event_at=event_at,
        category=category,
        outcome_system=written.system or terms.outcome_system,
        outcome_code=written.code,
        is_child=is_child,
        age_days=age_in_days(birth_date, event_at) if birth_date else None,
        service_system=service.get("system"),
        service_code=service.get("code"),
        service_display=service.get("display"),
        organisation=_organisation(data),
        source_system=(data.get("meta") or {}).get("source"),
        original_codes=original,
    )


def _category(
    data: dict[str, Any], terms: Terminology, original: list[dict[str, str]]
) -> Category | None:
    for coding in original:
        found = terms.code_category(coding.get("system"), coding.get("code"))
        if found:
            return found
    if data["resourceType"] != "Appointment":
        return None
    status = data.get("status")
    if status == "cancelled":
        reason = next(
            (
                c.get("code")
                for c, _ in walk(data, "cancelationReason.coding[]", "")
                if c.get("system") == terms.cancellation_reason.system
            ),
            None,
        )
        return terms.cancellation_reason.category_for(reason)
    return terms.appointment_status.get(status or "")


def _original_codes(data: dict[str, Any]) -> Iterator[dict[str, str]]:
    if data["resourceType"] == "Appointment":
        yield {"system": "http://hl7.org/fhir/appointmentstatus", "code": data.get("status", "")}
        paths = (
            "cancelationReason.coding[]",
            "extension[].valueCodeableConcept.coding[]",
            "extension[].valueCoding",
        )
    else:
        paths = ("code.coding[]", "valueCodeableConcept.coding[]")
    for path in paths:
        for coding, _ in walk(data, path, ""):
            if isinstance(coding, dict) and coding.get("code"):
                yield {k: coding[k] for k in ("system", "code", "display") if k in coding}


def _event_time(data: dict[str, Any]) -> datetime | None:
    for path in (
        "start",
        "created",
        "effectiveDateTime",
        "effectivePeriod.start",
        "effectiveInstant",
        "issued",
    ):
        for value, _ in walk(data, path, ""):
            if isinstance(value, str) and (moment := parse_instant(value)):
                return moment
    return None


def _service(data: dict[str, Any]) -> dict[str, str]:
    for path in SERVICE_PATHS:
        for coding, _ in walk(data, path, ""):
            if isinstance(coding, dict) and coding.get("code"):
                return coding
    if data["resourceType"] == "Observation":
        for coding, _ in walk(data, "code.coding[]", ""):
            if isinstance(coding, dict) and coding.get("code"):
                return {
                    "system": coding.get("system", ""),
                    "code": coding["code"],
                    "display": coding.get("display", ""),
                }
    return {}


def _organisation(data: dict[str, Any]) -> str | None:
    for ext in data.get("extension", []):
        if ext.get("url") == BOOKING_ORGANIZATION:
            return _label(ext.get("valueReference") or {})
    for ref, _ in walk(data, "participant[].actor", ""):
        target = (split_local(ref.get("reference") or "") or ("",))[0]
        if target in ("Organization", "HealthcareService", "Location"):
            return _label(ref)
    return _label(data.get("performer", [{}])[0]) if data.get("performer") else None


def _label(ref: dict[str, Any]) -> str | None:
    ident = ref.get("identifier") or {}
    return ident.get("value") or ref.get("reference") or ref.get("display") or None
