"""A small synthetic set of families so a newcomer sees something real. NHS numbers are from
the 999 range reserved for testing, with valid check digits; names are invented."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit
from app.services.access.users import add_user
from app.services.common.writes import WriteContext, WriteRequest
from app.services.records.ingest import write_resources
from app.store import auth_repo

SERVICES = [
    ("gp", "General practice"),
    ("health-visiting", "Health visiting"),
    ("dental", "Community dental"),
    ("paediatrics", "Community paediatrics"),
    ("immunisation", "Immunisation clinic"),
]
STATUSES = ["noshow", "fulfilled", "noshow", "booked", "cancelled", "fulfilled"]
FAMILIES = [("Ashdown", 3), ("Brennan", 2), ("Chowdhury", 1), ("Delaney", 2)]
GIVEN = ["Amara", "Ben", "Cara", "Dev", "Ella", "Finn", "Grace", "Hari"]
APPOINTMENT_IDS = "https://wnb.dev/fhir/Id/demo-appointment"


def test_nhs_numbers(rng: random.Random) -> list[str]:
    """An endless supply is not needed: 40 valid numbers in the 999 test range."""
    out: list[str] = []
    while len(out) < 40:
        first = "999" + "".join(rng.choice("0123456789") for _ in range(6))
        digit = check_digit(first)
        if digit is not None:
            out.append(f"{first}{digit}")
    return out


def demo_requests(now: datetime, seed: int = 7) -> list[WriteRequest]:
    rng = random.Random(seed)
    numbers = iter(test_nhs_numbers(rng))
    requests: list[WriteRequest] = []
    for family, children in FAMILIES:
        carer_nhs = next(numbers)
        for c in range(children):
            urn = f"urn:uuid:{family.lower()}-{c}"
            age_days = rng.randint(200, 14 * 365)
            born = (now - timedelta(days=age_days)).date().isoformat()
            requests.append(
                _req(
                    "Patient",
                    {
                        "resourceType": "Patient",
                        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": next(numbers)}],
                        "name": [{"family": family, "given": [rng.choice(GIVEN)]}],
                        "birthDate": born,
                        "gender": rng.choice(["male", "female"]),
                    },
                    urn,
                )
            )
            requests.append(
                _req(
                    "RelatedPerson",
                    {
                        "resourceType": "RelatedPerson",
                        "patient": {"reference": urn},
                        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": carer_nhs}],
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
                        "name": [{"family": family, "given": ["Sam"]}],
                    },
                )
            )
            for n in range(rng.randint(2, 5)):
                appt = _appointment(rng, now, urn, family, c, n, age_days)
                requests.append(_req("Appointment", appt))
    return requests


def _appointment(
    rng: random.Random, now: datetime, urn: str, family: str, child: int, n: int, age_days: int
) -> dict[str, Any]:
    code, display = rng.choice(SERVICES)
    status = rng.choice(STATUSES)
    start = (
        now + timedelta(days=rng.randint(5, 30))
        if status == "booked"
        else now - timedelta(days=min(rng.randint(3, 300), age_days - 1))  # never before birth
    )
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": status,
        "identifier": [{"system": APPOINTMENT_IDS, "value": f"{family}-{child}-{n}"}],
        "serviceType": [
            {
                "coding": [
                    {
                        "system": "https://wnb.dev/fhir/CodeSystem/demo-service",
                        "code": code,
                        "display": display,
                    }
                ]
            }
        ],
        "start": start.replace(microsecond=0).isoformat(),
        "end": (start + timedelta(minutes=20)).replace(microsecond=0).isoformat(),
        "participant": [{"actor": {"reference": urn, "type": "Patient"}, "status": "accepted"}],
    }
    if status == "cancelled":
        data["cancelationReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                    "code": "pat",
                }
            ]
        }
    return data


def _req(type_name: str, data: dict[str, Any], full_url: str | None = None) -> WriteRequest:
    return WriteRequest(type=type_name, data=data, full_url=full_url)


def seed(session: Session, ctx: WriteContext) -> int:
    """Store the demo set (idempotent: identifiers make a second run update, not duplicate)."""
    requests = demo_requests(ctx.now.replace(hour=9, minute=0, second=0, microsecond=0))
    write_resources(session, requests, ctx)
    return len(requests)


DEMO_NURSE = "demo-nurse"


def seed_nurse(session: Session, now: datetime) -> tuple[str, str] | None:
    """A demo nurse account with a fresh random password, printed once; None if it exists."""
    if auth_repo.user(session, DEMO_NURSE) is not None:
        return None
    password = secrets.token_urlsafe(12)
    add_user(session, DEMO_NURSE, password, "nurse", now)
    return DEMO_NURSE, password
