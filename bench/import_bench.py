"""bench/import_bench.py: how fast `wnb import` stores appointments into PostgreSQL, against a
floor measured in the same run on the same lines.

1. A fresh PostgreSQL database, migrated; a source client registered.
2. Two NDJSON files are generated: the children (Patient, PUT by id) of F families, then N
   appointments across them (9 fulfilled : 1 noshow, each with its own identifier).
3. The children's file is imported (not timed as the result), then the appointments' file is
   imported through `app.import_run.import_file`, the code `wnb import` runs, timed.
4. The floor: the same appointment lines into a table with one jsonb column, in the same
   batches of 500 (one INSERT ... executemany and one commit per batch), and once by COPY.
5. The deferred reconciliation the import left is drained as the worker does, timed.
Prints a Markdown report; paste it into bench/RESULTS.md.

    .venv/bin/python bench/import_bench.py --appointments 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rules_server as srv
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, check_digit
from app.import_run import BATCH_LINES, ImportOptions, import_file
from app.runtime import build_state
from app.services.access.clients import add_client
from app.services.concerns.reconcile import reconcile_due
from app.settings import Settings
from app.store.migrate import upgrade_head


def nhs_numbers(count: int) -> list[str]:
    out, n = [], 100000
    while len(out) < count:
        first = f"999{n:06d}"
        digit = check_digit(first)
        if digit is not None:
            out.append(f"{first}{digit}")
        n += 1
    return out


def write_files(folder: Path, families: int, appointments: int) -> tuple[Path, Path]:
    children = [f"bench-{i}" for i in range(families * 2)]
    numbers = nhs_numbers(len(children))
    patients = folder / "Patient.ndjson"
    with patients.open("wb") as f:
        for i, (pid, nhs) in enumerate(zip(children, numbers, strict=True)):
            born = (datetime(2019, 1, 1) + timedelta(days=i % 1800)).date().isoformat()
            f.write(orjson.dumps({
                "resourceType": "Patient", "id": pid, "birthDate": born,
                "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
                "name": [{"family": "Bench", "given": ["Child"]}],
            }) + b"\n")
    appts = folder / "Appointment.ndjson"
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with appts.open("wb") as f:
        for i in range(appointments):
            pid = children[i % len(children)]
            at = start + timedelta(days=(i // len(children)) * 7)
            f.write(orjson.dumps({
                "resourceType": "Appointment",
                "identifier": [{"system": "https://trust.example/appointments", "value": f"a{i}"}],
                "status": "noshow" if i % 10 == 0 else "fulfilled",
                "serviceType": [{"coding": [{"system": "https://example.org/service",
                                             "code": "dental"}]}],
                "start": at.isoformat(), "end": (at + timedelta(minutes=30)).isoformat(),
                "participant": [{"actor": {"reference": f"Patient/{pid}"},
                                 "status": "accepted"}],
            }) + b"\n")
    return patients, appts


def floor(name: str, path: Path) -> tuple[float, float]:
    """(seconds for batched INSERTs with a commit per batch, seconds for one COPY)."""
    lines = path.read_bytes().splitlines()
    with psycopg.connect(srv.dsn(name)) as conn:
        conn.execute("CREATE TABLE floor_insert (doc jsonb)")
        conn.execute("CREATE TABLE floor_copy (doc jsonb)")
        conn.commit()
        t0 = time.perf_counter()
        for i in range(0, len(lines), BATCH_LINES):
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO floor_insert (doc) VALUES (%s::jsonb)",
                    [(x.decode(),) for x in lines[i:i + BATCH_LINES]],
                )
            conn.commit()
        inserts = time.perf_counter() - t0
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY floor_copy (doc) FROM STDIN") as copy:
            for x in lines:
                copy.write_row((x.decode(),))
        conn.commit()
        return inserts, time.perf_counter() - t0


def progress(label: str) -> Callable[[int, int], None]:
    """Every tenth of the file, on stderr: how far, and the rate so far."""
    started, shown = time.perf_counter(), [0]

    def show(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth > shown[0]:
            shown[0] = tenth
            seconds = time.perf_counter() - started
            print(f"{label}: {tenth * 10}% after {seconds:.0f} s", file=sys.stderr, flush=True)

    return show


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/import_bench.py")
    p.add_argument("--appointments", type=int, default=20_000)
    p.add_argument("--families", type=int, default=2_000, help="two children each")
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    name = f"wnb_import_{os.getpid()}_{int(time.time())}"
    url = srv.create_database(name)
    try:
        upgrade_head(url)
        state = build_state(Settings(database_url=url, secret_key="x" * 40, log_level="WARNING"))
        client = state.write(lambda s: add_client(s, "bench", None, "source", None,
                                                  datetime.now(UTC))).client_id
        with tempfile.TemporaryDirectory() as folder:
            patients, appts = write_files(Path(folder), args.families, args.appointments)
            options = ImportOptions(client)
            t0 = time.perf_counter()
            kids = import_file(state, patients, options, progress("children"))
            kid_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            done = import_file(state, appts, options, progress("appointments"))
            appt_s = time.perf_counter() - t0
            inserts, copy = floor(name, appts)
        t0 = time.perf_counter()
        drained = 0
        while n := state.write(lambda s: reconcile_due(s, state.write_context(), 500)):
            drained += n
        drain_s = time.perf_counter() - t0
        rate = args.appointments / appt_s
        print(f"### Import benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
        print(f"Command: `.venv/bin/python bench/import_bench.py --appointments "
              f"{args.appointments} --families {args.families}`\n")
        print("| step | count | seconds | per second | ratio |")
        print("|---|---|---|---|---|")
        print(f"| import children (Patient, PUT by id) | {kids.stored} | {kid_s:.1f} | "
              f"{kids.stored / kid_s:,.0f} | |")
        print(f"| **import appointments** (`wnb import`, batches of {BATCH_LINES}) | "
              f"{done.stored} stored, {len(done.refused)} refused | {appt_s:.1f} | "
              f"**{rate:,.0f}** | {rate / 5000:.2f} x target 5,000/s |")
        print(f"| floor: INSERT jsonb, batches of {BATCH_LINES}, commit each | "
              f"{args.appointments} | {inserts:.2f} | {args.appointments / inserts:,.0f} | "
              f"import/floor {inserts / appt_s:.3f} |")
        print(f"| floor: one COPY jsonb | {args.appointments} | {copy:.2f} | "
              f"{args.appointments / copy:,.0f} | import/COPY {copy / appt_s:.3f} |")
        print(f"| drain deferred reconciliation (worker's reconcile_due, 500 a batch) | "
              f"{drained} patients | {drain_s:.1f} | {drained / max(drain_s, 1e-9):,.0f} | |")
        state.engine.dispose()
        return 0
    finally:
        if not args.keep_db:
            srv.drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
