"""The one service vocabulary: which service an appointment outcome belongs to, as a key.

Rules compare services ("a different service", "rebooked with the same service"), so two feeds
that code one clinic differently must produce one key, and two clinics must never share one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.fhir.references import split_local
from app.fhir.terminology import Terminology, normal_coding
from app.fhir.walk import values_at

BOOKING_ORGANIZATION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BookingOrganization"
)
# In order of preference: the first element with a code decides. serviceCategory is too broad
# (every GP clinic is "General Practice") to tell two services apart, so it is not used.
SERVICE_PATHS = ("serviceType[].coding[]", "specialty[].coding[]", "appointmentType.coding[]")
ORGANISATION_TYPES = ("Organization", "HealthcareService", "Location")
# Where outcome codes are carried (as app.fhir.coding reads them).
OUTCOME_CODE_PATHS = (
    "code.coding[]",
    "valueCodeableConcept.coding[]",
    "extension[].valueCodeableConcept.coding[]",
    "extension[].valueCoding",
)
ORG_PREFIX = "org|"  # a key made from the organisation alone: the service itself is unknown
MAX_KEY = 128  # the coded_event column; longer keys are hashed, still stable


@dataclass(frozen=True)
class Service:
    """A service key (None: unknown) and what to show a person for it (the source's coding)."""

    key: str | None
    system: str | None = None
    code: str | None = None
    display: str | None = None


def service_of(
    data: dict[str, Any], terms: Terminology, linked: Mapping[str, str] | None = None
) -> Service:
    """The service of an Appointment or outcome Observation.

    An Appointment: serviceType, else specialty, else appointmentType, else the booking
    organisation. An Observation never uses its own code as the service (that is the
    outcome, e.g. "DNA"): its service is the Appointment it is based on (`linked` maps
    "Appointment/id" to that appointment's key), else its performer organisation. Either,
    when nothing of that names one: the service a service-specific outcome code is mapped to
    in `outcome_services` ("DNA GP appointment": general practice); a generic code maps to
    none, so the service stays unknown.
    """
    if data["resourceType"] == "Appointment":
        for path in SERVICE_PATHS:
            codings = [c for c in values_at(data, path) if isinstance(c, dict) and c.get("code")]
            if codings:
                return _from_codings(codings, terms)
    else:
        for ref in values_at(data, "basedOn[]"):
            key = (linked or {}).get((ref or {}).get("reference") or "")
            if key:
                return Service(key)
    found = _organisation_service(organisation_of(data))
    return found if found.key is not None else _outcome_service(data, terms)


@lru_cache(maxsize=4096)  # every event view asks; organisations are few
def organisation_key(label: str | None) -> str | None:
    """The key of an organisation as a place: what an event known only by its organisation
    has as its service key, so the two compare."""
    return _organisation_service(label).key


def _outcome_service(data: dict[str, Any], terms: Terminology) -> Service:
    for path in OUTCOME_CODE_PATHS:
        for coding in values_at(data, path):
            if isinstance(coding, dict):
                name = terms.outcome_service(coding.get("system"), coding.get("code"))
                if name:
                    return Service(name, None, None, name)
    return Service(None)


def organisation_of(data: dict[str, Any]) -> str | None:
    """The booking organisation (UK Core extension), else an organisation participant or
    performer, by identifier value, reference or display."""
    ref = _organisation_ref(data)
    return None if ref is None else _label(ref)


def organisation_name_of(data: dict[str, Any]) -> str | None:
    """The name the source gave the organisation `organisation_of` found (its reference's
    display), when the label is a code; None when the display is the label itself."""
    ref = _organisation_ref(data)
    if ref is None or not isinstance(ref.get("display"), str):
        return None
    name = ref["display"].strip()[:255]
    return name if name and name != _label(ref) else None


def _organisation_ref(data: dict[str, Any]) -> dict[str, Any] | None:
    for ext in data.get("extension", []):
        if ext.get("url") == BOOKING_ORGANIZATION:
            return ext.get("valueReference") or {}
    for path in ("participant[].actor", "performer[]"):
        for ref in values_at(data, path):
            if not isinstance(ref, dict):
                continue
            target = ref.get("type") or (split_local(ref.get("reference") or "") or ("",))[0]
            if target in ORGANISATION_TYPES:
                return ref
    return None


def _from_codings(codings: list[dict[str, Any]], terms: Terminology) -> Service:
    # Named services (declared equivalent in the terminology file) win over raw codings, so a
    # feed that adds a local code next to a shared one still lands on the shared service.
    found = (terms.service_name(c.get("system"), c.get("code")) for c in codings)
    named = {name for name in found if name is not None}
    if named:
        parts = sorted(named)
    else:
        parts = sorted({"|".join(normal_coding(c.get("system", ""), c["code"])) for c in codings})
    first = codings[0]
    return Service(_fit(" ".join(parts)), first.get("system"), first["code"], first.get("display"))


def _organisation_service(label: str | None) -> Service:
    if not label:
        return Service(None)
    return Service(_fit(ORG_PREFIX + label.strip().casefold()), None, None, label)


def _fit(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return "sha256|" + hashlib.sha256(key.encode()).hexdigest()


def _label(ref: dict[str, Any]) -> str | None:
    ident = ref.get("identifier") or {}
    return ident.get("value") or ref.get("reference") or ref.get("display") or None
