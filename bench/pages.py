"""bench/pages.py: server time of the nurse's pages at the sizes issue 12 names.

- the family page of 10 children with 100 appointment outcomes each (target: under 200 ms);
- the worklist with 10,000 open flags, first page, a deep page and a filtered page (target:
  under 100 ms each).

Data goes in through the real ingest (rules on, in-process, no HTTP); pages are fetched
in-process through the ASGI app by a signed-in nurse, so the times are the server's own work
(database, services, audit record, template) without a network. Run by hand:

    .venv/bin/python bench/pages.py                      # SQLite in a temporary folder
    .venv/bin/python bench/pages.py --postgres postgresql+psycopg://postgres@127.0.0.1/postgres
                                            # a fresh database there, dropped at the end
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit
from app.main import create_app
from app.runtime import build_state
from app.services.access.users import add_user
from app.services.common.writes import WriteRequest
from app.services.records.ingest import write_resources
from app.settings import Settings
from app.store.migrate import upgrade_head
from fresh_db import fresh_database

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SERVICES = ["gp", "dental", "health-visiting", "paediatrics", "immunisation"]
STATUSES = ["noshow", "fulfilled", "fulfilled", "booked", "noshow", "fulfilled"]
PASSWORD = "bench password 1234"


def numbers(start: int) -> Any:
    n = start
    while True:
        n += 1
        first = f"999{n:06d}"
        digit = check_digit(first)
        if digit is not None:
            yield f"{first}{digit}"


def patient(urn: str, nhs: str, born: str, given: str) -> WriteRequest:
    data = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "name": [{"family": "Bench", "given": [given]}],
        "birthDate": born,
    }
    return WriteRequest(type="Patient", data=data, full_url=urn)


def appointment(urn: str, ident: str, status: str, start: datetime, service: str) -> WriteRequest:
    data = {
        "resourceType": "Appointment",
        "status": status,
        "identifier": [{"system": "https://bench.example/appt", "value": ident}],
        "serviceType": [{"coding": [{"system": "https://bench.example/svc", "code": service}]}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "participant": [{"actor": {"reference": urn, "type": "Patient"}, "status": "accepted"}],
    }
    return WriteRequest(type="Appointment", data=data)


def carer(urn: str, nhs: str) -> WriteRequest:
    data = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": urn},
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
    }
    return WriteRequest(type="RelatedPerson", data=data)


def seed_family(state: Any) -> None:
    ids = numbers(100_000)
    mother = next(ids)
    for c in range(10):
        urn = f"urn:uuid:00000000-0000-0000-0000-{c:012d}"
        requests = [patient(urn, next(ids), f"{2012 + c}-03-01", f"Child{c}"), carer(urn, mother)]
        for n in range(100):
            start = NOW - timedelta(days=3 * 365) + timedelta(days=11 * n, hours=c)
            status = "booked" if start > NOW else STATUSES[(n + c) % len(STATUSES)]
            service = SERVICES[(n * 7 + c) % len(SERVICES)]
            requests.append(appointment(urn, f"f-{c}-{n}", status, start, service))
        state.write(lambda s, r=requests: write_resources(s, r, state.write_context()))


def seed_flags(state: Any, count: int) -> None:
    """`count` babies, each not brought once: infant-wnb flags them all."""
    ids = numbers(200_000)
    batch: list[WriteRequest] = []
    for i in range(count):
        urn = f"urn:uuid:00000000-0000-0000-0001-{i:012d}"
        born = (NOW - timedelta(days=30 + i % 300)).date().isoformat()
        batch.append(patient(urn, next(ids), born, f"Baby{i}"))
        batch.append(appointment(urn, f"w-{i}", "noshow", NOW - timedelta(days=2), "gp"))
        if len(batch) >= 400 or i == count - 1:
            state.write(lambda s, r=batch: write_resources(s, r, state.write_context()))
            batch = []
            print(f"  {i + 1} babies", file=sys.stderr, end="\r")
    print(file=sys.stderr)


def timed(http: TestClient, path: str, runs: int) -> tuple[float, float]:
    assert http.get(path).status_code == 200, path  # warm caches, templates
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        r = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, path
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="admin URL: benchmark in a fresh database there")
    parser.add_argument("--flags", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if args.postgres:
        with fresh_database(args.postgres, "wnb_bench_pages") as url:
            run(url, args)
    else:
        run(f"sqlite:///{tempfile.mkdtemp(prefix='wnb-bench-pages-')}/pages.db", args)


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_head(url)
    settings = Settings(
        database_url=url, run_worker=False, rate_limit_per_second=1e6, rate_limit_burst=10**6
    )
    state = build_state(settings)
    state.clock = lambda: NOW
    started = time.perf_counter()
    seed_family(state)
    seed_flags(state, args.flags)
    state.write(lambda s: add_user(s, "bench-nurse", PASSWORD, "nurse", NOW))
    print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with TestClient(create_app(state=state)) as http:
        form = http.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        http.post(
            "/login", data={"username": "bench-nurse", "password": PASSWORD, "csrf_token": token}
        )
        child = re.search(r'href="/ui/children/([^"]+)"', http.get("/ui/?rule=multi-service").text)
        family = re.search(
            r'href="/ui/families/([^"]+)"', http.get(f"/ui/children/{child.group(1)}").text
        )  # type: ignore[union-attr]
        pages = {
            "family page, 10 children x 100 outcomes": f"/ui/families/{family.group(1)}",  # type: ignore[union-attr]
            "child page, 100 outcomes": f"/ui/children/{child.group(1)}",  # type: ignore[union-attr]
            f"worklist, {args.flags} open flags, page 1": "/ui/",
            "worklist, page 400": "/ui/?page=400",
            "worklist, filtered (rule, age 0-1)": "/ui/?rule=infant-wnb&age_band=0-1",
            # The JSON API over the same service: what the page adds is the difference.
            "API worklist, page 1": "/api/worklist?_count=20",
            "API worklist, filtered": "/api/worklist?rule=infant-wnb&age_band=0-1&_count=20",
        }
        kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"| page ({kind}) | median ms | p95 ms |\n|---|---:|---:|")
        for name, path in pages.items():
            median, p95 = timed(http, path, args.runs)
            print(f"| {name} | {median:.1f} | {p95:.1f} |")
    state.engine.dispose()


if __name__ == "__main__":
    main()
