"""Synthetic FHIR R4 payloads: Patients with valid NHS numbers, Appointments, transaction
Bundles. Deterministic, unique identifiers per run tag."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

import orjson

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit

APPOINTMENT_SYSTEM = "https://bench/appt"
SERVICE_SYSTEM = "https://example.org/service"
SERVICES = ("dental", "audiology", "ophthalmology", "paediatrics")
FIRST_DAY = date(2025, 1, 6)
DAYS = 600  # appointments spread over ~20 months, all in the past


def nhs_numbers(start: int = 0) -> Iterator[str]:
    """Valid NHS numbers from the 999 (test) range: 999 + 6 digits + Modulus 11 check digit."""
    for n in range(start, 1_000_000):
        first_nine = f"999{n:06d}"
        check = check_digit(first_nine)
        if check is not None:
            yield f"{first_nine}{check}"


def patient(nhs: str, i: int) -> dict[str, Any]:
    born = date(2014, 1, 1) + timedelta(days=(i * 37) % 3650)  # children aged 2..12
    return {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "name": [{"family": "Bench", "given": [f"Child{i}"]}],
        "gender": ("female", "male")[i % 2],
        "birthDate": born.isoformat(),
    }


STATUSES: tuple[str, ...] = ("noshow",)  # cycled over appointments; see --statuses


def appointment(uid: str, patient_id: str, i: int,
                statuses: tuple[str, ...] | None = None) -> dict[str, Any]:
    statuses = statuses or STATUSES
    day = FIRST_DAY + timedelta(days=i % DAYS)
    minute = (i // DAYS) % 24 * 20
    start = f"{day.isoformat()}T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"
    end_minute = minute + 20
    end = f"{day.isoformat()}T{9 + end_minute // 60:02d}:{end_minute % 60:02d}:00Z"
    return {
        "resourceType": "Appointment",
        "status": statuses[i % len(statuses)],
        "identifier": [{"system": APPOINTMENT_SYSTEM, "value": uid}],
        "serviceType": [{"coding": [{"system": SERVICE_SYSTEM,
                                     "code": SERVICES[i % len(SERVICES)]}]}],
        "start": start,
        "end": end,
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"},
                         "status": "accepted"}],
    }


def appointment_json(tag: str, i: int, patient_ids: Sequence[str]) -> bytes:
    return orjson.dumps(appointment(f"{tag}-{i}", patient_ids[i % len(patient_ids)], i))


def transaction(resources: Sequence[dict[str, Any]]) -> bytes:
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def appointment_bundle(tag: str, first: int, size: int, patient_ids: Sequence[str],
                       statuses: tuple[str, ...] | None = None) -> bytes:
    return transaction([
        appointment(f"{tag}-{i}", patient_ids[i % len(patient_ids)], i, statuses)
        for i in range(first, first + size)
    ])
