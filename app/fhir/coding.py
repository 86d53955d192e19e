"""Coding an appointment outcome: which children, when, which service, which category."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.fhir.dates import age_in_years, local_date, parse_instant
from app.fhir.references import split_local
from app.fhir.service_key import organisation_name_of, organisation_of, service_of
from app.fhir.terminology import Category, Terminology
from app.fhir.walk import values_at

# A birth date as a span: (earliest, latest) possible day; equal ends for a full date.
BirthSpan = tuple[date, date]
# An outcome Observation with these statuses was never (or is no longer) a real outcome.
VOID_OBSERVATION = frozenset({"entered-in-error", "cancelled"})


@dataclass(frozen=True)
class Outcome:
    """A coded event, before it knows its row.

    `age_days` is the youngest the child can have been on the Europe/London date of the event
    (from the latest possible birth date); `age_uncertain_days` how many days older they may
    have been (0: the birth date is exact). `booked_at` is when the appointment was booked
    (`Appointment.created`), None when the source did not say.
    """

    child_id: str
    event_at: datetime
    category: Category
    outcome_system: str
    outcome_code: str
    is_child: bool
    age_days: int | None
    service_system: str | None
    service_key: str | None  # the normalised service key (app.fhir.service_key): rules compare it
    service_display: str | None
    organisation: str | None
    source_system: str | None
    original_codes: list[dict[str, str]]
    booked_at: datetime | None = None
    age_uncertain_days: int = 0
    service_code: str | None = None  # the code as the source sent it, shown to nurses
    organisation_name: str | None = None  # the reference's display: a name when nothing better


def subject_patients(data: dict[str, Any]) -> list[str]:
    """Every Patient an Appointment (each Patient participant) or Observation is about, once
    each, in the order given (references already resolved)."""
    if data["resourceType"] == "Appointment":
        refs = [p.get("actor") or {} for p in data.get("participant", [])]
    else:
        refs = [data.get("subject") or {}]
    found = []
    for ref in refs:
        local = split_local(ref.get("reference") or "")
        if local and local[0] == "Patient" and local[1] not in found:
            found.append(local[1])
    return found


def subject_patient(data: dict[str, Any]) -> str | None:
    """The first Patient an Appointment or Observation is about."""
    patients = subject_patients(data)
    return patients[0] if patients else None


def code_outcomes(
    data: dict[str, Any],
    terms: Terminology,
    births: Mapping[str, BirthSpan | None],
    recorded_at: datetime,
    linked_services: Mapping[str, str] | None = None,
) -> list[Outcome]:
    """One coded event per Patient of an Appointment or Observation (a mother and baby at one
    check, twins), each coded for its own age; empty when the resource is not an outcome.

    `births` maps patient id to its birth span; `linked_services` maps "Appointment/id" to the
    service key of an appointment an Observation is based on.
    """
    patients = subject_patients(data)
    if not patients:
        return []
    if data["resourceType"] == "Observation" and data.get("status") in VOID_OBSERVATION:
        return []
    original = list(_original_codes(data))
    category = _category(data, terms, original)
    if category is None:
        return []
    event_at = _event_time(data) or recorded_at
    service = service_of(data, terms, linked_services)
    created = data.get("created") if data["resourceType"] == "Appointment" else None
    shared = {
        "event_at": event_at,
        "service_system": service.system,
        "service_key": service.key,
        "service_code": service.code,
        "service_display": service.display,
        "organisation": organisation_of(data),
        "organisation_name": organisation_name_of(data),
        "source_system": (data.get("meta") or {}).get("source"),
        "original_codes": original,
        "booked_at": parse_instant(created) if isinstance(created, str) else None,
    }
    return [_for_patient(pid, category, births.get(pid), terms, shared) for pid in patients]


def outcome_category(data: dict[str, Any], terms: Terminology) -> Category | None:
    """The outcome an Appointment or Observation states (before any age recoding), whoever
    it is about; None when it states none."""
    return _category(data, terms, list(_original_codes(data)))


def code_outcome(
    data: dict[str, Any],
    terms: Terminology,
    birth: date | BirthSpan | None,
    recorded_at: datetime,
) -> Outcome | None:
    """The coded event of the first Patient (see `code_outcomes`). Ingest codes every Patient;
    this one-patient form is kept for the coding tests and the bench's COPY fill."""
    pid = subject_patient(data)
    span = (birth, birth) if isinstance(birth, date) else birth
    found = code_outcomes(data, terms, {pid or "": span}, recorded_at)
    return found[0] if found else None


@dataclass(frozen=True)
class PersonCoding:
    """How one person's outcome is coded for their age on the day, with the code written."""

    category: Category
    outcome_system: str
    outcome_code: str
    is_child: bool
    age_days: int | None
    age_uncertain_days: int


def code_for_age(
    category: Category, event_at: datetime, birth: BirthSpan | None, terms: Terminology
) -> PersonCoding:
    """Child or adult on the Europe/London date of the event, and the category that follows
    (a child's miss is was-not-brought, an adult's did-not-attend). Decided on the side of the
    child: the latest possible birth date gives the youngest age, so a person who may be a
    child is coded as one (a birth year alone never makes an adult); unknown counts as a child.
    """
    on = local_date(event_at)
    latest = birth[1] if birth else None
    is_child = latest is None or age_in_years(latest, on) < terms.adult_age_years
    if category == "was-not-brought" and not is_child:
        category = "did-not-attend"
    elif category == "did-not-attend" and is_child:
        category = "was-not-brought"
    written = terms.written_codes[category]
    return PersonCoding(
        category=category,
        outcome_system=written.system or terms.outcome_system,
        outcome_code=written.code,
        is_child=is_child,
        age_days=(on - latest).days if latest else None,
        age_uncertain_days=(birth[1] - birth[0]).days if birth else 0,
    )


def _for_patient(
    pid: str,
    category: Category,
    birth: BirthSpan | None,
    terms: Terminology,
    shared: dict[str, Any],
) -> Outcome:
    coded = code_for_age(category, shared["event_at"], birth, terms)
    return Outcome(child_id=pid, **coded.__dict__, **shared)


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
                for c in values_at(data, "cancelationReason.coding[]")
                if c.get("system") == terms.cancellation_reason.system
            ),
            None,
        )
        return terms.cancellation_reason.category_for(reason)
    return terms.appointment_status.get(status or "")


def _original_codes(data: dict[str, Any]) -> Iterator[dict[str, str]]:
    if data["resourceType"] == "Appointment":
        yield {"system": "http://hl7.org/fhir/appointmentstatus", "code": data.get("status", "")}
        paths: tuple[str, ...] = (
            "cancelationReason.coding[]",
            "extension[].valueCodeableConcept.coding[]",
            "extension[].valueCoding",
        )
    else:
        paths = ("code.coding[]", "valueCodeableConcept.coding[]")
    for path in paths:
        for coding in values_at(data, path):
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
        for value in values_at(data, path):
            if isinstance(value, str) and (moment := parse_instant(value)):
                return moment
    return None
