"""bench/duplicate_keys_bench.py: what refusing duplicate JSON keys costs per request.

Times, in-process, `load_json` (orjson, depth, repeat and NUL checks) with and without the
duplicate-key check on a typical UK Core Appointment (booking organisation extension, service,
four participants, a cancellation reason and meta; about 1.6 KB) and on a 100-entry
transaction Bundle of them, and the check alone. Rounds alternate so load on the machine falls
on both alike; prints the median microseconds per body. Run by hand:

    .venv/bin/python bench/duplicate_keys_bench.py [--rounds 7] [--number 2000]
"""

from __future__ import annotations

import argparse
import statistics
import timeit
import uuid
from typing import Any

import orjson

from app.fhir import duplicate_keys, parse


def appointment(i: int) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "meta": {
            "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Appointment"],
            "source": "https://pas.example-trust.nhs.uk",
            "lastUpdated": "2026-06-15T09:10:00+01:00",
        },
        "extension": [{
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BookingOrganization",
            "valueReference": {"identifier": {
                "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RX1"}},
        }],
        "identifier": [{"system": "https://pas.example-trust.nhs.uk/appointment",
                        "value": f"APPT-{i:08d}"}],
        "status": "cancelled",
        "cancelationReason": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
            "code": "pat", "display": "Patient"}]},
        "serviceType": [{"coding": [{"system": "http://snomed.info/sct", "code": "310080006",
                                     "display": "Pharmacy service"}]}],
        "specialty": [{"coding": [{"system": "http://snomed.info/sct", "code": "394537008",
                                   "display": "Paediatric specialty"}]}],
        "appointmentType": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "FOLLOWUP"}]},
        "description": "Paediatric follow-up clinic",
        "start": "2026-06-14T09:00:00+01:00",
        "end": "2026-06-14T09:20:00+01:00",
        "created": "2026-05-01T10:00:00+01:00",
        "participant": [
            {"actor": {"reference": f"Patient/child-{i}"}, "status": "accepted"},
            {"actor": {"reference": f"RelatedPerson/carer-{i}"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/paed-1", "display": "Dr A Example"},
             "status": "accepted"},
            {"actor": {"reference": "Location/clinic-3"}, "status": "accepted"},
        ],
    }


def bundle(size: int) -> bytes:
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": appointment(i),
                "request": {"method": "POST", "url": "Appointment"}} for i in range(size)]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    bodies = {"Appointment": orjson.dumps(appointment(1)), "Bundle of 100": bundle(100)}
    real_check = duplicate_keys.duplicate_key_at
    print("| body | bytes | load_json without the check (µs) | with it (µs) "
          "| the check alone (µs) |")
    print("|---|---|---|---|---|")
    for name, body in bodies.items():
        number = args.number if len(body) < 10_000 else max(args.number // 100, 10)
        without, with_check, alone = [], [], []
        for _ in range(args.rounds):
            parse.duplicate_key_at = lambda *_: None  # type: ignore[assignment]
            without.append(timeit.timeit(lambda b=body: parse.load_json(b), number=number))
            parse.duplicate_key_at = real_check
            with_check.append(timeit.timeit(lambda b=body: parse.load_json(b), number=number))
            alone.append(timeit.timeit(lambda b=body: real_check(b, "body"), number=number))
        per = [1e6 * statistics.median(t) / number for t in (without, with_check, alone)]
        print(f"| {name} | {len(body)} | {per[0]:.1f} | {per[1]:.1f} | {per[2]:.1f} |")


if __name__ == "__main__":
    main()
