"""bench/rules: synthetic families (2-3 children sharing a carer) and their appointments.
Seeded, so both services of a comparison get the very same requests."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit

APPOINTMENT_SYSTEM = "https://bench.example/appointment"
SERVICE_SYSTEM = "https://example.org/service"
SERVICES = ("dental", "audiology", "health-visiting", "immunisation", "paediatrics")
# Appointment.status mix. About one child's appointment in eight is missed (UK outpatient
# DNA rates for children run at about 10-12%); the rest attended (80%) or booked (20%).
NOSHOW_SHARE = 0.12


def status_mix(noshow: float) -> tuple[list[str], list[float]]:
    rest = 1 - noshow
    return ["noshow", "fulfilled", "booked"], [noshow, rest * 0.8, rest * 0.2]


def nhs_numbers() -> Iterator[str]:
    """Valid NHS numbers from the 999 test range."""
    for n in range(1_000_000):
        first = f"999{n:06d}"
        digit = check_digit(first)
        if digit is not None:
            yield f"{first}{digit}"


@dataclass(frozen=True)
class Families:
    """`families` families; child ids are `c<family>-<n>`."""

    children: list[list[str]]  # per family
    births: dict[str, date]
    carers: list[str]  # the carer's NHS number, per family
    child_nhs: dict[str, str]

    @classmethod
    def make(cls, families: int, seed: int, today: date) -> Families:
        rng = random.Random(seed)
        numbers = nhs_numbers()
        children, births, carers, child_nhs = [], {}, [], {}
        for f in range(families):
            kids = [f"c{f}-{n}" for n in range(rng.choice((2, 2, 3)))]
            for kid in kids:
                # Ages 0-15; about one child in eight is under one year old.
                days = rng.randint(0, 364) if rng.random() < 0.125 else rng.randint(365, 5800)
                births[kid] = today - timedelta(days=days)
                child_nhs[kid] = next(numbers)
            children.append(kids)
            carers.append(next(numbers))
        return cls(children, births, carers, child_nhs)

    @property
    def all_children(self) -> list[str]:
        return [kid for kids in self.children for kid in kids]

    def setup_bundles(self, per_bundle: int = 500) -> Iterator[bytes]:
        """Transaction Bundles of Patients (PUT: the same ids on every server) and one carer
        RelatedPerson per child, a family never split across two Bundles."""
        entries: list[dict[str, Any]] = []
        for f, kids in enumerate(self.children):
            for kid in kids:
                entries.append(_put(self._patient(kid)))
                entries.append(_post(self._carer(kid, self.carers[f])))
            if len(entries) >= per_bundle:
                yield _bundle(entries)
                entries = []
        if entries:
            yield _bundle(entries)

    def _patient(self, kid: str) -> dict[str, Any]:
        return {
            "resourceType": "Patient",
            "id": kid,
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": self.child_nhs[kid]}],
            "name": [{"family": "Bench", "given": ["Child"]}],
            "birthDate": self.births[kid].isoformat(),
        }

    @staticmethod
    def _carer(kid: str, carer: str) -> dict[str, Any]:
        return related_person(kid, carer)


def related_person(kid: str, carer: str) -> dict[str, Any]:
    """The mother (NHS number `carer`) of Patient/`kid`."""
    return {
        "resourceType": "RelatedPerson",
        "patient": {"reference": f"Patient/{kid}"},
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": carer}],
        "relationship": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                        "code": "MTH",
                    }
                ]
            }
        ],
    }


def appointments(
    families: Families,
    count: int,
    seed: int,
    tag: str,
    now: datetime,
    days: int = 365,
    noshow: float = NOSHOW_SHARE,
) -> Iterator[dict[str, Any]]:
    """`count` Appointments of random children, at random times in the `days` before now."""
    rng = random.Random(seed)
    kids = families.all_children
    statuses, weights = status_mix(noshow)
    for i in range(count):
        start = now - timedelta(minutes=rng.randint(60, days * 24 * 60))
        kid, status = rng.choice(kids), rng.choices(statuses, weights)[0]
        yield appointment(f"{tag}-{i}", kid, start, status, rng.choice(SERVICES))


def appointment(ident: str, kid: str, start: datetime, status: str, service: str) -> dict[str, Any]:
    start = start.replace(second=0, microsecond=0)
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": APPOINTMENT_SYSTEM, "value": ident}],
        "status": status,
        "serviceType": [{"coding": [{"system": SERVICE_SYSTEM, "code": service}]}],
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=20)),
        "participant": [{"actor": {"reference": f"Patient/{kid}"}, "status": "accepted"}],
    }


def per_child_appointments(
    families: Families, each: int, seed: int, now: datetime, days: int, noshow: float
) -> Iterator[dict[str, Any]]:
    """`each` Appointments per child over the `days` before now (the backtest's history)."""
    rng = random.Random(seed)
    statuses, weights = status_mix(noshow)
    for kid in families.all_children:
        for n in range(each):
            start = now - timedelta(minutes=rng.randint(60, days * 24 * 60))
            status = rng.choices(statuses, weights)[0]
            yield appointment(f"{kid}-{n}", kid, start, status, rng.choice(SERVICES))


def transaction(resources: Iterator[dict[str, Any]], size: int) -> Iterator[bytes]:
    """Transaction Bundles of `size` POST entries."""
    entries: list[dict[str, Any]] = []
    for resource in resources:
        entries.append(_post(resource))
        if len(entries) == size:
            yield _bundle(entries)
            entries = []
    if entries:
        yield _bundle(entries)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}


def _post(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def _bundle(entries: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})
