"""bench/rules: (a) ingest with the trigger rules on against off, (b) `wnb rules backtest` over
a million stored appointments. See bench/RULES_RESULTS.md for figures and how to read them."""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import yaml

import rules_data as data
import rules_fill as fill
import rules_http as http
import rules_server as srv


@dataclass
class Config:
    quick: bool
    requests: int
    connections: int
    noshow: float
    families: int
    events: int
    keep: bool
    reuse: bool
    logs: Path


def main(argv: list[str], command: str) -> int:
    parser = argparse.ArgumentParser(prog="bench/rules", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    parser.add_argument("--requests", type=int, help="Appointment POSTs per configuration")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--noshow",
        type=float,
        default=data.NOSHOW_SHARE,
        help="share of the Appointments that are noshow, in (a) and (b) (default %(default)s)",
    )
    parser.add_argument("--events", type=int, help="stored appointments for the backtest")
    parser.add_argument("--only", choices=["ingest", "backtest"], help="run one part")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a filled backtest database if present"
    )
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    config = Config(
        quick=args.quick,
        requests=args.requests or (2_000 if args.quick else 20_000),
        connections=args.connections,
        noshow=args.noshow,
        families=200 if args.quick else 1_500,
        events=args.events or (20_000 if args.quick else 1_000_000),
        keep=args.keep,
        reuse=args.reuse,
        logs=logs,
    )
    print(f"$ {command}")
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} cores, logs in {logs}")
    if args.only in (None, "ingest"):
        ingest_on_off(config)
    if args.only in (None, "backtest"):
        backtest(config)
    return 0


# --- (a) ingest, rules on against off ---------------------------------------------------------

# A-B-B-A then B-A-A-B: a steady drift of the shared machine's speed, and whatever the first
# round pays (caches, statistics), weigh on both configurations alike.
ROUNDS = ("on", "off", "off", "on", "off", "on", "on", "off")


def ingest_on_off(config: Config) -> None:
    print("\n(a) single-Appointment POSTs, rules on vs off (2 uvicorn workers each, PostgreSQL)")
    servers = {}
    try:
        for mode in ("on", "off"):
            url = srv.create_database(f"wnb_bench_rules_{mode}")
            env = srv.service_env(url, rules_enabled=mode == "on")
            servers[mode] = srv.start_server(f"rules-{mode}", env, config.logs)
        now = data.utc_now()
        families = data.Families.make(config.families, seed=1, today=now.date())
        names, weights = data.status_mix(config.noshow)
        mix = ", ".join(f"{n} {w:.0%}" for n, w in zip(names, weights, strict=True))
        print(
            f"families: {len(families.children):,} ({len(families.all_children):,} children, "
            f"2-3 per carer); {config.requests:,} Appointments per configuration over the last "
            f"year ({mix}), {config.connections} connections"
        )
        for server in servers.values():
            setup = [http.post("/fhir", server.token, b) for b in families.setup_bundles()]
            _ok(http.drive(server.port, setup, connections=2), server.name)
            warm = data.appointments(families, 300, 99, "warm", now, noshow=config.noshow)
            _ok(http.drive(server.port, _posts(server, warm), config.connections), server.name)
        size = config.requests // len(ROUNDS) * 2
        runs: dict[str, list[tuple[http.Run, float]]] = {"on": [], "off": []}
        load = os.getloadavg()[0]
        for round_no, mode in enumerate(ROUNDS):
            server = servers[mode]
            batch = len(runs[mode]) + 1  # each service gets batch 1, 2, 3... in turn
            made = data.appointments(families, size, batch, f"r{batch}", now, noshow=config.noshow)
            requests = _posts(server, made)
            pids = server.pids()
            cpu = srv.cpu_seconds(pids)
            run = http.drive(server.port, requests, config.connections)
            runs[mode].append((run, srv.cpu_seconds(pids) - cpu))
            _ok(run, server.name)
            print(f"  round {round_no + 1}: rules {mode:<3} {_line(run, run.elapsed)}")
        summary = {mode: _merge(r) for mode, r in runs.items()}
        for mode in ("on", "off"):
            run, cpu = summary[mode]
            print(
                f"rules {mode:<3} {_line(run, run.elapsed)}, server CPU "
                f"{cpu / run.count * 1000:.2f} ms/request"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (at the start: {load:.1f})")
        ratio = summary["on"][0].rate / summary["off"][0].rate
        cpu_ratio = (summary["off"][1] / summary["off"][0].count) / (
            summary["on"][1] / summary["on"][0].count
        )
        print(
            f"ratio on/off: throughput {ratio:.2f} (target >= 0.85), "
            f"CPU per request {cpu_ratio:.2f}"
        )
        with psycopg.connect(srv.dsn("wnb_bench_rules_on")) as conn:
            flags = conn.execute(
                "SELECT rule_id, count(*) FROM raised_flag GROUP BY rule_id ORDER BY rule_id"
            ).fetchall()
            events = conn.execute("SELECT count(*) FROM coded_event").fetchone()
        print(
            f"rules on: {events[0] if events else 0:,} coded events, flags raised per rule: "
            + ", ".join(f"{rule} {n}" for rule, n in flags)
        )
    finally:
        for server in servers.values():
            server.stop()
        if not config.keep:
            for mode in servers:
                srv.drop_database(f"wnb_bench_rules_{mode}")


def _posts(server: srv.Server, appointments: object) -> list[bytes]:
    return [
        http.post("/fhir/Appointment", server.token, orjson.dumps(a))
        for a in appointments  # type: ignore[attr-defined]
    ]


def _ok(run: http.Run, name: str) -> None:
    if run.failures:
        raise RuntimeError(f"{name}: {len(run.failures)} failed, e.g. {run.failures[0]}")


def _merge(runs: list[tuple[http.Run, float]]) -> tuple[http.Run, float]:
    merged = http.Run()
    cpu = 0.0
    for run, used in runs:
        merged.count += run.count
        merged.elapsed += run.elapsed
        merged.latencies += run.latencies
        merged.statuses.update(run.statuses)
        merged.failures += run.failures
        cpu += used
    return merged, cpu


def _line(run: http.Run, elapsed: float) -> str:
    return (
        f"{run.count:,} requests in {elapsed:.1f} s = {run.rate:,.0f} req/s, "
        f"p50 {run.percentile(0.5) * 1000:.1f} ms, p99 {run.percentile(0.99) * 1000:.1f} ms"
    )


# --- (b) backtest ---------------------------------------------------------------------------


def backtest(config: Config) -> None:
    print("\n(b) wnb rules backtest over stored history (PostgreSQL)")
    now = data.utc_now()
    _same_history_either_way(config, now)
    each = 10
    families = data.Families.make(
        max(1, round(config.events / each / 2.333)), seed=5, today=now.date()
    )
    db = f"wnb_bench_backtest_{config.events}_{round(config.noshow * 100)}"
    stored = _stored_events(db) if config.reuse and srv.database_exists(db) else 0
    if stored:
        print(f"reusing database {db} ({stored:,} coded events)")
    else:
        srv.create_database(db)
        started = time.perf_counter()
        stored = fill.by_copy(db, families, each, now, 730, config.noshow)
        print(
            f"COPY-loaded {stored:,} Appointments ({len(families.all_children):,} children, "
            f"{len(families.children):,} families, {each} each over two years, "
            f"noshow {config.noshow:.0%}, 3% on a cp-plan) "
            f"into {db} in {time.perf_counter() - started:.0f} s"
        )
    env = srv.service_env(srv.database_url(db))
    changed = config.logs / "every-rule-changed.yaml"
    rules = yaml.safe_load((srv.ROOT / "rules" / "default.yaml").read_text())
    for rule in rules["rules"]:
        rule["version"] += 1
        rule["window_days"] = rule.get("window_days", 0) + 1
    changed.write_text(yaml.safe_dump(rules))
    year_ago = (now.date().replace(year=now.year - 1)).isoformat()
    for label, argv in (
        ("rules/default.yaml (as in force: replayed once)", ["rules/default.yaml"]),
        ("every rule's window_days + 1 (both sides replayed)", [str(changed)]),
        (f"rules/default.yaml --since {year_ago}", ["rules/default.yaml", "--since", year_ago]),
    ):
        load = os.getloadavg()[0]
        run = _timed([srv.WNB, "rules", "backtest", *argv], env)
        head = run.out.splitlines()[0]
        listed = next(line for line in run.out.splitlines() if line.startswith("would flag"))
        head += f"; {listed.split(' of ')[1].split(' firings')[0]} firings"
        print(
            f"  {label}: {run.seconds:.1f} s wall, {run.cpu:.1f} s CPU "
            f"({run.cpu / run.seconds:.0%} of a core), peak RSS {run.peak_kib / 1024:.0f} MiB, "
            f"load average before {load:.1f}"
        )
        print(f"    {head[head.index(':') + 2 :]}")
    if not config.keep:
        srv.drop_database(db)


def _same_history_either_way(config: Config, now: datetime) -> None:
    """The COPY loader must store what the service stores: fill one small history both
    ways, backtest both, compare."""
    families = data.Families.make(60 if config.quick else 300, seed=3, today=now.date())
    each = 10
    url = srv.create_database("wnb_bench_bt_service")
    server = srv.start_server("fill", srv.service_env(url, rules_enabled=False), config.logs)
    try:
        rate = fill.through_service(server, families, each, now, 730, config.noshow)
    finally:
        server.stop()
    srv.create_database("wnb_bench_bt_copy")
    fill.by_copy("wnb_bench_bt_copy", families, each, now, 730, config.noshow)
    reports = []
    for db in ("wnb_bench_bt_service", "wnb_bench_bt_copy"):
        env = srv.service_env(srv.database_url(db))
        run = _timed([srv.WNB, "rules", "backtest", "rules/default.yaml", "--json"], env)
        reports.append(_comparable(orjson.loads(run.out)))
    same = reports[0] == reports[1]
    count = len(families.all_children) * each
    print(
        f"check: {count:,} Appointments posted as transaction Bundles of 500 (rules off) ran at "
        f"{rate:,.0f}/s, so 1,000,000 would take ~{1_000_000 / rate / 60:.0f} min: the large "
        f"history is COPY-loaded instead. Backtest of the same history filled both ways: "
        f"{'identical' if same else 'DIFFERENT'} ({len(reports[0][0]):,} firings)"
    )
    if not same:
        raise RuntimeError("the COPY loader does not store what the service stores")
    if not config.keep:
        srv.drop_database("wnb_bench_bt_service")
        srv.drop_database("wnb_bench_bt_copy")


def _comparable(report: dict[str, object]) -> tuple[object, ...]:
    """A report without the ids the two fills assign differently (Appointment ids)."""
    listed: list[dict[str, Any]] = report["firings"]  # type: ignore[assignment]
    firings = sorted(
        (
            f["at"],
            f["rule_id"],
            f["patient"],
            f["trigger"]["at"],
            f["description"],
            len(f["evidence"]),
        )
        for f in listed
    )
    return firings, report["rules"], report["diff"], report["events"], report["families"]


def _stored_events(db: str) -> int:
    with psycopg.connect(srv.dsn(db)) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM coded_event").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


@dataclass
class Timed:
    seconds: float
    cpu: float  # user + system seconds of the command's process
    peak_kib: int
    out: str


def _timed(argv: list[str], env: dict[str, str]) -> Timed:
    """Run a command to the end under /usr/bin/time; raises on failure. (The rusage of a
    child forked straight from this process would start from this process's own peak.)"""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as usage:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-o", usage.name, "-f", "%U %S %M", *argv],
            env=env,
            cwd=srv.ROOT,
            stdout=out,
            stderr=subprocess.PIPE,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr!r}")
        user, system, peak = usage.read().split()[-3:]
        out.seek(0)
        return Timed(seconds, float(user) + float(system), int(peak), out.read().decode())
