"""bench/validation_bench.py: the service's structure check against plain R4B, in one run.

For each payload: `fhir.resources` R4B `model_validate` (what `validate_structure` did for every
resource before `app/fhir/sure_valid.py`), the service's `validate_structure` (the walk, with
R4B as the fallback), and a transaction Bundle of 100 noshow Appointments through
`bundle.entry_request` (structure, value sets, business rules: the whole "validation" stage of
bench/stages.py) against R4B on each entry's resource. Rounds alternate between the two
sides; the median round counts. Pure functions, no database, no HTTP.

    .venv/bin/python bench/validation_bench.py [--rounds 7] [--n 2000]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.fhir.parse import validate_structure
from app.services.records.bundle import entry_request
from payloads import appointment, appointment_bundle, nhs_numbers, patient
from rules_data import related_person

TODAY = date(2026, 12, 6)


def _payloads(n: int) -> dict[str, list[dict[str, Any]]]:
    """`n` of each kind, each with its own identifiers, names and times (the walk remembers
    strings it has accepted, so one payload sent again would flatter it)."""
    numbers = nhs_numbers(12)
    out: dict[str, list[dict[str, Any]]] = {
        "noshow Appointment": [],
        "Patient": [],
        "RelatedPerson": [],
        "Flag (a client's)": [],
    }
    for i in range(n):
        nhs = next(numbers)
        out["noshow Appointment"].append(appointment(f"bench-{i}", f"child-{i}", i))
        out["Patient"].append(patient(nhs, i))
        out["RelatedPerson"].append(related_person(f"child-{i}", nhs))
        out["Flag (a client's)"].append(
            {
                "resourceType": "Flag",
                "status": "active",
                "code": {"coding": [{"system": "https://example.org/cp", "code": "cp-plan"}]},
                "subject": {"reference": f"Patient/child-{i}"},
                "period": {"start": f"20{10 + i % 16}-0{1 + i % 9}-1{i % 10}"},
            }
        )
    return out


def _per_call(fn: Callable[[Any], object], items: list[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e3


def _ab(
    plain: Callable[[Any], object], ours: Callable[[Any], object], items: list[Any], rounds: int
) -> tuple[float, float]:
    """Each round on its own fresh copies: a round never sees what an earlier one did."""
    a, b = [], []
    for _ in range(rounds):
        a.append(_per_call(plain, copy.deepcopy(items)))
        b.append(_per_call(ours, copy.deepcopy(items)))
    return statistics.median(a), statistics.median(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000, help="calls per round per payload")
    args = parser.parse_args()
    print(f"load average {tuple(round(x, 2) for x in os.getloadavg())}")
    print("| payload | R4B model_validate ms | validate_structure ms | ratio |")
    print("|---|---:|---:|---:|")
    for name, items in _payloads(args.n).items():
        model = get_fhir_model_class(items[0]["resourceType"])
        plain, ours = _ab(model.model_validate, validate_structure, items, args.rounds)
        print(f"| {name} | {plain:.4f} | {ours:.4f} | {ours / plain:.2f} |")
    patients = [f"c{i}" for i in range(150)]
    bundles = [
        orjson.loads(appointment_bundle(f"b{b}", b * 100, 100, patients))["entry"]
        for b in range(max(1, args.n // 100))
    ]
    model = get_fhir_model_class("Appointment")

    def plain_bundle(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            model.model_validate(entry["resource"])

    def our_bundle(entries: list[dict[str, Any]]) -> None:
        for i, entry in enumerate(entries):
            entry_request(entry, i, TODAY, lambda _t, _i: True)

    plain, ours = _ab(plain_bundle, our_bundle, bundles, args.rounds)
    print(
        f"| Bundle of 100, per entry (entry_request: structure, codes, rules) | "
        f"{plain / 100:.4f} | {ours / 100:.4f} | {ours / plain:.2f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
