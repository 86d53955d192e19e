"""bench/late_links: carer links that arrive after the children's history, against a large store.

1. A fresh PostgreSQL database is filled by COPY (bench/rules_fill.by_copy) with a synthetic
   history (default about 1,000,000 appointments of ~23,000 children in 10,000 families) and a
   Patient row per child, so references resolve.
2. Every family is judged once, as after a new rules version (`note_rules_version` then the
   worker's `reconcile_due` batches), timed: the cost of re-judging a whole region.
3. `--links` RelatedPersons (default 10,000) link pairs of children of two families (disjoint
   pairs) to a new shared carer (the first of a pair changes nothing, the second merges them),
   each written as the API writes it (`state.write`: store, reconcile before commit), timed
   one by one; statements per link counted with a SQLAlchemy listener.
4. Flags right: for `--verify` merged families, the open flags equal `desired_flags` over the
   family's facts read afresh.
Prints a Markdown report; paste it into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy import event, select

import rules_data as data
import rules_fill as fill
import rules_server as srv
from app.rules.desired import desired_flags
from app.runtime import build_state
from app.services.common.writes import WriteRequest
from app.services.concerns import family_facts
from app.services.concerns.reconcile import note_rules_version, reconcile_due
from app.services.records.ingest import write_resources
from app.settings import Settings
from app.store import family_repo
from app.store.models import RaisedFlag


def main(argv: list[str], command: str) -> int:
    p = argparse.ArgumentParser(prog="bench/late_links")
    p.add_argument("--families", type=int, default=10_000)
    p.add_argument("--each", type=int, default=43, help="appointments per child")
    p.add_argument("--links", type=int, default=10_000)
    p.add_argument("--verify", type=int, default=500)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    families = data.Families.make(args.families, 7, now.date())
    name = f"wnb_links_{int(time.time())}"
    srv.create_database(name)
    try:
        return _run(args, command, name, families, now)
    finally:
        if not args.keep_db:
            srv.drop_database(name)


def _run(args: Any, command: str, name: str, families: data.Families, now: datetime) -> int:
    started = time.perf_counter()
    events = fill.by_copy(name, families, args.each, now, 730, 0.1)
    _copy_patients(name, families, now)
    filled = time.perf_counter() - started
    state = build_state(Settings(database_url=srv.database_url(name), run_worker=False))
    state.clock = lambda: now  # one instant throughout, so the verification judges alike
    statements = [0]
    event.listen(state.engine, "before_cursor_execute", lambda *a: _bump(statements))

    started = time.perf_counter()
    marked = state.write(lambda s: note_rules_version(s, state.rules, now))
    judged = 0
    while count := state.write(lambda s: reconcile_due(s, state.write_context(), 500)):
        judged += count
    first_pass = time.perf_counter() - started
    flags_after_pass = _count_flags(state)

    rng = random.Random(3)
    numbers = data.nhs_numbers()
    for _ in range(len(families.all_children) + args.families + 10):
        next(numbers)  # past the numbers the history used
    # Disjoint pairs of families: random pairs would chain most families into one giant
    # family, which real data does not do (and which costs a whole history per write).
    order = list(range(len(families.children)))
    rng.shuffle(order)
    pairs = [
        (rng.choice(families.children[f1]), rng.choice(families.children[f2]))
        for f1, f2 in zip(order[0::2], order[1::2], strict=False)
    ][: args.links // 2]
    latencies, per_link = [], []
    started = time.perf_counter()
    for a, b in pairs:
        carer = next(numbers)
        for kid in (a, b):
            request = WriteRequest(type="RelatedPerson", data=_carer(kid, carer))
            before, t0 = statements[0], time.perf_counter()
            state.write(lambda s, r=request: write_resources(s, [r], state.write_context()))
            latencies.append(time.perf_counter() - t0)
            per_link.append(statements[0] - before)
    linked = time.perf_counter() - started
    wrong = _verify(state, [b for _, b in pairs[: args.verify]], now)
    ms = sorted(x * 1000 for x in latencies)
    print(f"### bench/late_links ({now.isoformat()})\n")
    print(f"`{command}`\n")
    print("| measure | value |\n|---|---|")
    print(
        f"| history (COPY) | {events:,} appointments, {len(families.all_children):,} children, "
        f"{args.families:,} families, {filled:.0f} s |"
    )
    print(
        f"| first judgement of every family | {marked:,} children marked, {judged:,} taken, "
        f"{first_pass:.1f} s ({judged / first_pass:,.0f} children/s), "
        f"{flags_after_pass:,} flags raised |"
    )
    print(
        f"| late carer links | {len(latencies):,} in {linked:.1f} s "
        f"({len(latencies) / linked:,.0f} links/s, one transaction each) |"
    )
    print(
        f"| latency per link (store + reconcile + commit) | p50 {statistics.median(ms):.1f} ms, "
        f"p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, max {ms[-1]:.1f} ms |"
    )
    print(
        f"| statements per link | median {statistics.median(per_link):.0f}, max {max(per_link)} |"
    )
    print(f"| flags after the links | {_count_flags(state):,} open |")
    print(
        f"| families verified against desired_flags | {min(args.verify, len(pairs))}, "
        f"{wrong} wrong |"
    )
    state.engine.dispose()
    return 1 if wrong else 0


def _bump(counter: list[int]) -> None:
    counter[0] += 1


def _carer(kid: str, carer: str) -> dict[str, Any]:
    return data.Families._carer(kid, carer)


def _copy_patients(name: str, families: data.Families, now: datetime) -> None:
    with psycopg.connect(srv.dsn(name)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY resource (type, id, version, last_updated, patient_id, content) FROM STDIN"
        ) as copy:
            for kid in families.all_children:
                body = {
                    "resourceType": "Patient",
                    "id": kid,
                    "birthDate": families.births[kid].isoformat(),
                }
                copy.write_row(("Patient", kid, 1, now, kid, orjson.dumps(body).decode()))
        conn.commit()


def _count_flags(state: Any) -> int:
    return state.read(
        lambda s: len(s.scalars(select(RaisedFlag.pk).where(RaisedFlag.is_open)).all())
    )


def _verify(state: Any, children: list[str], now: datetime) -> int:
    """Families whose open flags differ from the pure evaluation of their facts."""

    def check(session: Any) -> int:
        families = family_repo.families_of(session, children)
        rows = family_repo.members_with_records(session, set(families.values()))
        members, loaded = family_facts.load(session, rows, True)
        wrong = 0
        for family_id, facts in loaded.facts.items():
            want = {
                (r, c, frozenset(f.events))
                for (r, c), f in desired_flags(state.rules, facts, now).items()
            }
            rows = session.scalars(
                select(RaisedFlag).where(
                    RaisedFlag.is_open, RaisedFlag.child_id.in_(members[family_id])
                )
            ).all()
            have = {(r.rule_id, r.child_id, frozenset(r.evidence_events)) for r in rows}
            wrong += want != have
        return wrong

    return state.read(check)
