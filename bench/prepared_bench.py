"""bench/prepared_bench.py: what `WNB_DB_PREPARED_STATEMENTS=false` (for PgBouncer in
transaction mode) costs on the write path.

Two states on one fresh PostgreSQL database, psycopg's server-side prepares on and off, take
turns writing single noshow Appointments (rules and inline reconciliation on) through the real
ingest, in-process, on one connection each; rounds alternate so load on the machine falls on
both alike. Prints writes per second for each and the ratio. Run by hand:

    .venv/bin/python bench/prepared_bench.py [--admin postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit
from app.runtime import AppState, build_state
from app.services.common.writes import WriteRequest
from app.services.records.ingest import write_resources
from app.settings import Settings
from app.store.migrate import upgrade_head
from fresh_db import fresh_database

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
CHILDREN = 200


def nhs(n: int) -> str:
    while True:
        first = f"999{n:06d}"
        digit = check_digit(first)
        if digit is not None:
            return f"{first}{digit}"
        n += 1_000


def patient(i: int) -> WriteRequest:
    born = (NOW - timedelta(days=100 + i)).date().isoformat()
    data = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs(i)}],
        "name": [{"family": "Bench", "given": [f"Child{i}"]}],
        "birthDate": born,
    }
    return WriteRequest(type="Patient", data=data)


def appointment(ident: str, pid: str, i: int) -> WriteRequest:
    # Within 99 days: every child is at least 100 days old (a miss before birth is refused).
    start = NOW - timedelta(days=1 + i % 99, minutes=i % 97)
    data = {
        "resourceType": "Appointment",
        "status": "noshow",
        "identifier": [{"system": "https://bench.example/appt", "value": ident}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}],
    }
    return WriteRequest(type="Appointment", data=data)


def state_for(url: str, prepared: bool) -> AppState:
    settings = Settings(database_url=url, run_worker=False, db_prepared_statements=prepared)
    state = build_state(settings)
    state.clock = lambda: NOW
    return state


def rate(state: AppState, tag: str, pids: list[str], writes: int) -> float:
    started = time.perf_counter()
    for i in range(writes):
        req = appointment(f"{tag}-{i}", pids[i % len(pids)], i)
        state.write(lambda s, r=req: write_resources(s, [r], state.write_context()))
    return writes / (time.perf_counter() - started)


def run(url: str, rounds: int, writes: int) -> None:
    upgrade_head(url)
    states = {True: state_for(url, True), False: state_for(url, False)}
    results = states[True].write(
        lambda s: write_resources(
            s, [patient(i) for i in range(CHILDREN)], states[True].write_context()
        )
    )
    pids = [r.id for r in results]
    rates: dict[bool, list[float]] = {True: [], False: []}
    rate(states[True], "warm-on", pids, 50)
    rate(states[False], "warm-off", pids, 50)
    for n in range(rounds):
        for prepared in (True, False) if n % 2 == 0 else (False, True):
            rates[prepared].append(rate(states[prepared], f"r{n}-{prepared}", pids, writes))
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    print("| server-side prepares | noshow writes/s (median of rounds) |")
    print("|---|---|")
    print(f"| on (default) | {on:,.0f} |")
    print(f"| off (`WNB_DB_PREPARED_STATEMENTS=false`) | {off:,.0f} |")
    print(f"\noff / on = {off / on:.2f} ({rounds} rounds of {writes} writes each)")
    for state in states.values():
        state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    with fresh_database(args.admin, "wnb_bench_prepared") as url:
        run(url, args.rounds, args.writes)


if __name__ == "__main__":
    main()
