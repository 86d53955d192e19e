"""Ingest benchmark: the wnb service against a FLOOR app, side by side, in one run.

See bench/README.md. Entry point: bench/ingest.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import math
import os
import platform
import shlex
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import orjson
import psycopg
from psycopg import sql

import clone_prefill
import loadgen
import payloads
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from hold_memory import MemoryHold
from pg_reads import ReadMeter
from procs import (
    BearerToken,
    CpuMeter,
    Postgres,
    Profiler,
    Server,
    background_load,
    connection_owner,
    connection_split,
    free_port,
    other_backends,
    peak_rss_mib,
    register_client,
    start_server,
    summarise_profile,
)

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
HOST = "127.0.0.1"
SCENARIOS = ("a", "b", "c")
# --py-spy-phases: the name on the command line -> the label of the timed run
PY_SPY_PHASES = {"a": "(a)", "b": "(b)", "prefill": "prefill", "c": "(c)",
                 "history": "(c) history"}
PREFILL_PER_CHILD = 20  # appointments per child in the prefill, over ~20 months
# The floor app's one table (created here, before its two workers start).
FLOOR_TABLE_DDL = (
    "CREATE TABLE floor_appointment (pk bigserial PRIMARY KEY, content text NOT NULL)")


@dataclass
class Measure:
    """One timed run against one server, with the CPU it took."""

    label: str
    server: str
    result: loadgen.RunResult
    items_per_request: int = 1
    server_cores: float = 0.0
    postgres_cores: float = 0.0
    machine_cores: float = 0.0
    split: list[int] = field(default_factory=list)  # connections held by each worker

    @property
    def item_rate(self) -> float:
        return self.result.rate * self.items_per_request

    @property
    def loadgen_cores(self) -> float:
        return self.result.cpu_loadgen / self.result.elapsed if self.result.elapsed else 0.0

    @property
    def other_cores(self) -> float:
        """Busy CPU nobody in this benchmark used: other work on the shared machine."""
        return max(0.0, self.machine_cores - self.server_cores - self.postgres_cores
                   - self.loadgen_cores)


# A timed run during which work outside the benchmark (another process, another database's
# backends, what the bench cannot name) took more CPU than this is marked as disturbed: on two
# cores, a fifth of a core moves a rate by more than the differences measured here.
DISTURBED_CORES = 0.2


def disturbed(m: Measure) -> bool:
    return m.other_cores > DISTURBED_CORES


def rounds_note(label: str, out: dict[str, list[Measure]]) -> str:
    """Each round's service and floor rates and their ratio, a round marked as disturbed
    where either run was (the medians use every round)."""
    parts = []
    for i, (s, f) in enumerate(zip(out["service"], out["floor"], strict=True)):
        mark = (f" (disturbed: other {s.other_cores:.2f} / {f.other_cores:.2f} cores)"
                if disturbed(s) or disturbed(f) else "")
        ratio = f"{s.item_rate / f.item_rate:.2f}" if f.item_rate else "-"
        parts.append(f"{i + 1}: {s.item_rate:,.0f} / {f.item_rate:,.0f} req/s = {ratio}{mark}")
    return f"{label} round by round, service / floor: " + "; ".join(parts) + "."


def cpu_note(label: str, out: dict[str, list[Measure]]) -> str:
    """Each round's server CPU per request, service and floor, and their ratio, with the
    median ratio: what the service costs per request against the floor in the same minute.
    A shared machine's speed moves both sides' CPU per request together, so this ratio
    resolves changes to the service's own cost (a tenth, 2026-12-08) that the rates, which
    also carry PostgreSQL's and the other work's share of the cores, cannot."""
    parts, ratios = [], []
    for i, (s, f) in enumerate(zip(out["service"], out["floor"], strict=True)):
        if not (s.result.rate and f.result.rate and f.server_cores):
            continue
        svc = s.server_cores * 1000 / s.result.rate
        flo = f.server_cores * 1000 / f.result.rate
        ratios.append(svc / flo)
        parts.append(f"{i + 1}: {svc:.2f} / {flo:.2f} ms = {svc / flo:.2f}")
    if not ratios:
        return f"{label} server CPU per request: not measured."
    return (f"{label} server CPU per request, service / floor: " + "; ".join(parts)
            + f"; median {statistics.median(ratios):.2f}x the floor's.")


def clean_rates(out: dict[str, list[Measure]]) -> tuple[float, float] | None:
    """Median service and floor rates over the rounds where neither run was disturbed; None
    when every round was."""
    pairs = [(s, f) for s, f in zip(out["service"], out["floor"], strict=True)
             if not disturbed(s) and not disturbed(f)]
    if not pairs:
        return None
    return (statistics.median(s.item_rate for s, _ in pairs),
            statistics.median(f.item_rate for _, f in pairs))


@dataclass
class Report:
    command: str
    args: argparse.Namespace
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    profiles: list[tuple[str, list[Path]]] = field(default_factory=list)
    reads: list[tuple[str, list[str]]] = field(default_factory=list)
    fingerprint: str = ""


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("0 or more")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/ingest",
        description="Benchmark wnb ingest against a minimal validate+insert FLOOR app "
                    "(PostgreSQL, 2 uvicorn workers each, loopback).")
    p.add_argument("--requests", type=int, default=5000,
                   help="timed single POSTs per server and run in (a) and (c) (default 5000)")
    p.add_argument("--concurrency", type=int, default=16,
                   help="open connections, each with one request in flight (default 16)")
    p.add_argument("--warmup", type=int, default=500,
                   help="untimed requests before each timed single-POST run (default 500)")
    p.add_argument("--bundles", type=int, default=200,
                   help="timed transaction Bundles in (b) (default 200)")
    p.add_argument("--bundle-size", type=int, default=100,
                   help="appointments per Bundle in (b) (default 100)")
    p.add_argument("--bundle-concurrency", type=int, default=None,
                   help="connections in (b) (default: --concurrency)")
    p.add_argument("--prefill", type=int, default=1_000_000,
                   help="appointments stored before (c) (default 1,000,000)")
    p.add_argument("--skip-prefill", action="store_true",
                   help="run (c) on whatever (a) and (b) stored, without prefilling")
    p.add_argument("--prefill-bundle", type=int, default=1000,
                   help="appointments per prefill transaction Bundle (default 1000)")
    p.add_argument("--prefill-concurrency", type=int, default=4,
                   help="connections used to prefill (default 4)")
    p.add_argument("--prefill-reconcile", choices=("inline", "deferred"), default="inline",
                   help="deferred: the service stores the prefill with WNB_RECONCILE_INLINE="
                        "false (families marked for a worker, none running), then serves (c) "
                        "as shipped; the stored facts are the same, the prefill faster "
                        "(default inline)")
    p.add_argument("--prefill-template", type=int, default=0, metavar="N",
                   help="store N appointments through the service (the template), then copy "
                        "the template's rows in SQL until --prefill are stored "
                        "(bench/clone_prefill.py; its children's histories on days of their "
                        "own); 0: store all of them through the service (default 0)")
    p.add_argument("--prefill-statuses", default=",".join(["fulfilled"] * 9 + ["noshow"]),
                   help="Appointment.status values cycled over the prefill (default: nine "
                        "fulfilled, one noshow: one in ten not brought)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds to wait for one answer before counting it as failed "
                        "(default 1800: a Bundle of 1000 can take minutes)")
    p.add_argument("--statuses", default="noshow",
                   help="Appointment.status values cycled over the appointments, e.g. "
                        "fulfilled,fulfilled,fulfilled,noshow (default noshow: every one is a "
                        "was-not-brought event the rules evaluate)")
    p.add_argument("--refused-every", type=_not_negative, default=0,
                   help="in (a) and (c), every Nth POST names a Patient the service does not "
                        "hold and is refused (422), as a source sending an appointment before "
                        "its child's record (default 0: none). The floor gets the same bodies "
                        "and stores them all.")
    p.add_argument("--patients", type=int, default=1000,
                   help="new children per (a)/(c) round (default 1000); (b) and the prefill "
                        "create their own")
    p.add_argument("--analyze", choices=("auto", "on", "off"), default="auto",
                   help="run ANALYZE on the service database before each timed phase and "
                        "every 10%% of the prefill, standing in for autovacuum; auto: only "
                        "when the server has autovacuum off (default auto)")
    p.add_argument("--no-vacuum", action="store_true",
                   help="do not VACUUM ANALYZE the service database after the prefill")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat each single-POST comparison (service, floor alternately) and "
                        "report medians (default 1)")
    p.add_argument("--scenario", default="a,b,c",
                   help="comma-separated subset of a,b,c (c implies a, its baseline)")
    p.add_argument("--admin-dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=test",
                   help="libpq DSN of a database to CREATE/DROP the benchmark databases from")
    p.add_argument("--page-cache", type=float, default=None, metavar="GIB",
                   help="before (c), hold memory in a process of the bench until about GIB "
                        "are left for the page cache (bench/hold_memory.py): a smaller store "
                        "then meets what a larger one meets on this machine's memory")
    p.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                   help="a PostgreSQL setting for both benchmark databases (ALTER DATABASE ... "
                        "SET; per-session settings only, such as wal_compression=lz4), so two "
                        "runs compare a setting on one server; repeatable")
    p.add_argument("--keep-db", action="store_true", help="do not drop the databases at the end")
    p.add_argument("--reuse-db", metavar="NAME", default=None,
                   help="run (c) on the service database NAME kept by an earlier run "
                        "(--keep-db) instead of prefilling: (a) still runs on an empty "
                        "database of its own, then the service restarts on NAME (never "
                        "dropped), and the history phase takes children that still have "
                        f"exactly {PREFILL_PER_CHILD} appointments, so each repeat meets "
                        "untouched ones")
    p.add_argument("--no-balance", action="store_true",
                   help="keep the kernel's placement of connections on the two workers (often "
                        "lopsided) instead of reconnecting until each holds its share")
    p.add_argument("--keep-rate-limit", action="store_true",
                   help="leave the service's per-client rate limit at its default")
    p.add_argument("--py-spy", metavar="DIR", type=Path, default=None,
                   help="record py-spy stacks of the workers during the timed runs of "
                        "--py-spy-phases into DIR, and print where the time goes (slows them)")
    p.add_argument("--py-spy-phases", default="a,b,prefill",
                   help="the timed runs --py-spy records, a comma-separated subset of a, b, "
                        "prefill, c, history (default a,b,prefill)")
    p.add_argument("--py-spy-mode", choices=("gil", "wall"), default="gil",
                   help="gil: samples of threads holding the GIL (where Python CPU goes); "
                        "wall: all non-idle threads, including those waiting on PostgreSQL")
    args = p.parse_args(argv)
    chosen = {s.strip() for s in args.scenario.split(",") if s.strip()}
    if not chosen or chosen - set(SCENARIOS):
        p.error(f"--scenario takes a comma-separated subset of {','.join(SCENARIOS)}")
    if "c" in chosen:
        chosen.add("a")
    args.scenarios = chosen
    if args.reuse_db is not None and "c" not in chosen:
        p.error("--reuse-db serves (c): add c to --scenario")
    if args.reuse_db is not None and (args.skip_prefill or args.prefill_template):
        p.error("--reuse-db runs (c) on a store already filled: no prefill options with it")
    phases = {x.strip() for x in args.py_spy_phases.split(",") if x.strip()}
    if phases - PY_SPY_PHASES.keys():
        p.error(f"--py-spy-phases takes a comma-separated subset of {','.join(PY_SPY_PHASES)}")
    args.py_spy_labels = {PY_SPY_PHASES[x]: x for x in phases}  # timed run's label -> phase
    payloads.STATUSES = tuple(x.strip() for x in args.statuses.split(",") if x.strip())
    args.prefill_status_list = tuple(
        x.strip() for x in args.prefill_statuses.split(",") if x.strip())
    if args.bundle_concurrency is None:
        args.bundle_concurrency = args.concurrency
    for setting in args.pg_set:
        name, _, value = setting.partition("=")
        if not (name.replace("_", "").replace(".", "").isalnum() and value):
            p.error(f"--pg-set takes NAME=VALUE, not {setting!r}")
    if min(args.requests, args.concurrency, args.bundles, args.bundle_size, args.prefill_bundle,
           args.prefill_concurrency, args.patients, args.rounds) < 1 or args.prefill < 0:
        p.error("counts must be positive")
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- checks -------------------------------------------------------------------------------------

NO_SUCH_PATIENT = "no-such-patient"


def refused(index: int, every: int) -> bool:
    return every > 0 and index % every == every - 1


def expect_created(_: int, status: int, body: bytes) -> str | None:
    if status != 201:
        return f"expected 201, got {status}"
    if b'"id"' not in body[:200] and b'"resourceType"' not in body[:200]:
        return "201 without a resource in the body"
    return None


def expect_bundle(size: int, on_ok: Callable[[int, bytes], None] | None = None) -> loadgen.Check:
    def check(index: int, status: int, body: bytes) -> str | None:
        if status != 200:
            return f"expected 200 for a transaction Bundle, got {status}"
        created = body.count(b'"status":"201 Created"')
        if created != size:
            return f"expected {size} entries '201 Created' in the response, found {created}"
        if on_ok is not None:
            on_ok(index, body)
        return None
    return check


# --- phases -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, report: Report) -> None:
        self.args = args
        self.report = report
        self.pg = Postgres(args.admin_dsn)
        self.run_id = f"{os.getpid()}_{int(time.time())}"
        self.service_db = f"wnb_bench_{self.run_id}"
        self.floor_db = f"wnb_floor_{self.run_id}"
        self.log_dir = Path(tempfile.mkdtemp(prefix="wnb-bench-"))
        self.servers: dict[str, Server] = {}
        self.patients_created = 0
        self.prefilled_children: list[str] = []
        self.memory_hold: MemoryHold | None = None
        self.analyze_on = False
        self.analyzes: list[float] = []  # seconds each stand-in ANALYZE took
        self.analyzer: threading.Thread | None = None
        self.nhs = payloads.nhs_numbers()
        self.token: BearerToken | None = None
        self.tag_prefix = ""  # before each appointment identifier's tag (see reuse)
        self.profiled = 0  # timed runs recorded by py-spy so far (each its own files)
        self.service_env: dict[str, str] = {}
        self.service_argv: list[str] = []

    # setup / teardown
    def start(self) -> None:
        self.report.fingerprint = service_fingerprint()
        busy = background_load()
        self.report.notes.append(
            f"background load before the run (nothing of this benchmark running): {busy:.2f} "
            f"of {os.cpu_count()} cores busy.")
        log(f"background load: {busy:.2f} cores busy")
        if self.args.py_spy is not None:
            self.args.py_spy.mkdir(parents=True, exist_ok=True)
        if self.args.reuse_db is not None:
            self.check_kept(self.args.reuse_db)  # before (a), not after it
        log(f"creating databases {self.service_db}, {self.floor_db}; logs in {self.log_dir}")
        self.pg.create(self.service_db)
        self.reads = ReadMeter(self.pg.dsn(self.service_db))
        if not self.reads.on:
            self.report.notes.append(self.reads.why_not)
        autovacuum = str(self.pg.scalar(self.service_db, "SHOW autovacuum"))
        self.analyze_on = self.args.analyze == "on" or (
            self.args.analyze == "auto" and autovacuum != "on")
        if self.analyze_on:
            self.report.notes.append(
                f"PostgreSQL has autovacuum={autovacuum}: without it no table is ever analyzed "
                "and plans go wrong as tables grow, so the benchmark runs ANALYZE itself before "
                "each timed phase and every 10% of the prefill (in the background).")
        self.pg.create(self.floor_db)
        self.pg.execute(self.floor_db, FLOOR_TABLE_DDL)
        self.set_settings(self.service_db, self.floor_db)
        for setting in self.args.pg_set:
            name, _, value = setting.partition("=")
            self.report.notes.append(f"both databases: `{name} = {value}` (--pg-set).")
        bin_dir = Path(sys.executable).parent
        base_env = {**os.environ, "WNB_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
        service_env = {**base_env, "WNB_DATABASE_URL": self.pg.url(self.service_db),
                       "WNB_RUN_WORKER": "false", "WNB_TOKEN_TTL_SECONDS": "3600"}
        if not self.args.keep_rate_limit:
            service_env |= {"WNB_RATE_LIMIT_PER_SECOND": "1000000",
                            "WNB_RATE_LIMIT_BURST": "1000000"}
        self.service_env = service_env
        floor_env = {**base_env, "FLOOR_DATABASE_URL": self.pg.url(self.floor_db)}
        sport, fport = free_port(), free_port()
        self.servers["service"] = start_server(
            "service", [str(bin_dir / "wnb"), "serve", "--host", HOST, "--port", str(sport),
                        "--workers", "2"], service_env, sport, self.log_dir)
        self.servers["floor"] = start_server(
            "floor", [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR),
                      "floor_app:app", "--host", HOST, "--port", str(fport), "--workers", "2",
                      "--log-level", "warning", "--no-access-log"], floor_env, fport,
            self.log_dir)
        self.service_argv = [str(bin_dir / "wnb"), "serve", "--host", HOST, "--port",
                             str(sport), "--workers", "2"]
        self.servers["service"].wait_ready("/health")
        self.servers["floor"].wait_ready("/fhir/Appointment")  # 405 on GET: it answers
        time.sleep(3)  # let the second worker of each finish importing
        creds = register_client(str(bin_dir / "wnb"), service_env)
        if creds is None:
            self.report.notes.append("the service has no `wnb client` command: no auth used.")
        else:
            self.token = BearerToken(f"http://{HOST}:{sport}/auth/token", *creds)
            self.token.header()
            self.report.notes.append(
                "auth: a `wnb client add --role source` client; each service request carries "
                "a bearer token (client_credentials, WNB_TOKEN_TTL_SECONDS=3600, refreshed "
                "before expiry)" + ("." if self.args.keep_rate_limit else
                                    "; the per-client rate limit is raised "
                                    "(WNB_RATE_LIMIT_PER_SECOND/BURST=1000000) so it does not "
                                    "cap the benchmark."))
        log(f"service on :{sport} (pids {self.servers['service'].pids()}), "
            f"floor on :{fport} (pids {self.servers['floor'].pids()})")

    def restart_service(self, name: str, extra_env: dict[str, str]) -> None:
        """The service again, on its port and database, with `extra_env` over its env."""
        self.servers["service"].stop()
        self.servers["service"] = start_server(
            name, self.service_argv, {**self.service_env, **extra_env},
            self.servers["service"].port, self.log_dir)
        self.servers["service"].wait_ready("/health")
        time.sleep(3)  # let the second worker finish importing
        log(f"service restarted as {name} (pids {self.servers['service'].pids()})")

    def hold_memory(self, leave_gib: float) -> None:
        self.memory_hold = MemoryHold(leave_gib)
        hold = self.memory_hold
        self.report.notes.append(
            f"before (c): {hold.held:.1f} GiB held by a process of the bench "
            f"(--page-cache {leave_gib:g}); memory available to the page cache and the "
            f"servers fell from {hold.before:.1f} to {hold.after:.1f} GiB.")
        log(f"holding {hold.held:.1f} GiB; available {hold.before:.1f} -> {hold.after:.1f} GiB")

    def set_settings(self, *databases: str, reset: bool = False) -> None:
        """--pg-set on `databases` (ALTER DATABASE ... SET, so every new session has it), or
        each taken off again (`reset`)."""
        for setting in self.args.pg_set:
            name, _, value = setting.partition("=")
            for db in databases:
                change = (sql.SQL("ALTER DATABASE {} RESET {}").format(
                              sql.Identifier(db), sql.Identifier(name)) if reset else
                          sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                              sql.Identifier(db), sql.Identifier(name), sql.Literal(value)))
                self.pg.execute(db, change)

    def stop(self) -> None:
        if self.memory_hold is not None:
            self.memory_hold.release()
        for server in self.servers.values():
            try:
                server.stop()
            except Exception as exc:  # keep tearing down
                log(f"stopping {server.name}: {exc}")
        if self.args.reuse_db is not None and self.service_db == self.args.reuse_db:
            # A kept store outlives the run: its next run must not inherit this one's settings.
            self.set_settings(self.args.reuse_db, reset=True)
        if self.args.keep_db:
            log(f"kept databases {', '.join(self.pg.created)}")
        else:
            self.pg.drop_all()
            log("dropped the benchmark databases")

    # helpers
    def _load(self, server: str, requests: Iterable[bytes], concurrency: int,
              check: loadgen.Check, on_start: Callable[[], None] | None = None
              ) -> loadgen.RunResult:
        target = self.servers[server]
        headers = self.token.header if server == "service" and self.token else None
        workers = target.worker_pids()
        place: loadgen.Placement | None = None
        if not self.args.no_balance:
            place = functools.partial(connection_owner, target.port, pids=workers)
        return loadgen.run(HOST, target.port, requests, concurrency, check, headers=headers,
                           place=place, workers=len(workers), on_start=on_start,
                           timeout=self.args.timeout)

    def _run(self, server: str, requests: Iterator[bytes] | list[bytes], concurrency: int,
             check: loadgen.Check, label: str, items: int = 1) -> Measure:
        target = self.servers[server]
        if server == "service":
            self.analyze()
        meter = self.reads if server == "service" and label != "prefill" else None
        if meter is not None:
            meter.reset()
        profile = self.args.py_spy is not None and label in self.args.py_spy_labels
        cpu = CpuMeter(target.pids(), functools.partial(
            other_backends, self.args.admin_dsn, (self.service_db, self.floor_db)))
        split: list[int] = []

        def on_start() -> None:
            split.extend(connection_split(target.port, target.worker_pids()))
            cpu.start()

        with contextlib.ExitStack() as stack:
            if profile:
                self.profiled += 1
                phase = self.args.py_spy_labels[label]
                prefix = self.args.py_spy / f"{server}-{phase}-{self.profiled}"
                profiler = stack.enter_context(Profiler(
                    str(Path(sys.executable).parent / "py-spy"), target.worker_pids(), prefix,
                    gil=self.args.py_spy_mode == "gil"))
            result = self._load(server, requests, concurrency, check, on_start)
            cpu.stop()
        if profile:
            self.report.profiles.append((f"{label} {server}", profiler.outputs))
        if meter is not None:
            lines = meter.collect().describe(result.count)
            if lines:
                self.report.reads.append((label, lines))
        measure = Measure(label, server, result, items, cpu.server, cpu.postgres, cpu.machine,
                          split)
        if result.failures:
            self.report.problems.append(
                f"{label} / {server}: {result.failures} of {result.count} answers were wrong "
                f"(statuses {dict(result.statuses)}); first ones:\n  "
                + "\n  ".join(result.samples))
        if target.proc.poll() is not None:
            raise RuntimeError(f"{server} died during {label}:\n{target.tail()}")
        rss = peak_rss_mib(target.worker_pids())
        if server == "service" and rss:
            peak = max(rss)
            self.report.notes.append(
                f"{label}: peak resident memory per API process so far "
                f"{' / '.join(f'{r:.0f}' for r in rss)} MiB (target < 300: "
                f"{'met' if peak < 300 else 'not met'})")
        log(f"{label} / {server}: {result.ok}/{result.count} ok in {result.elapsed:.1f}s, "
            f"{measure.item_rate:,.0f}/s, p50 {result.percentile(0.5) * 1e3:.1f} ms, "
            f"p99 {result.percentile(0.99) * 1e3:.1f} ms, cpu server {cpu.server:.2f} "
            f"pg {cpu.postgres:.2f} loadgen {measure.loadgen_cores:.2f} "
            f"other {measure.other_cores:.2f} cores ({cpu.describe_others()}), "
            f"connections per worker {split}")
        return measure

    def create_patients(self, count: int, concurrency: int = 2, per_bundle: int = 500
                        ) -> list[str]:
        """`count` new Patients (untimed), created through transaction Bundles; their ids."""
        t0 = time.perf_counter()
        first = self.patients_created
        self.patients_created += count
        sizes = [min(per_bundle, count - s) for s in range(0, count, per_bundle)]
        bodies = [loadgen.http_request(HOST, self.servers["service"].port, "/fhir",
                                       payloads.transaction([
                                           payloads.patient(next(self.nhs), first + start + j)
                                           for j in range(size)]))
                  for start, size in zip(range(0, count, per_bundle), sizes, strict=True)]
        found: dict[int, list[str]] = {}

        def keep(index: int, body: bytes) -> None:
            found[index] = [e["resource"]["id"] for e in orjson.loads(body)["entry"]]

        result = self._load("service", bodies, concurrency,
                            lambda i, st, b: expect_bundle(sizes[i], keep)(i, st, b))
        if result.failures:
            raise RuntimeError("creating patients failed:\n  " + "\n  ".join(result.samples))
        ids = [pid for index in sorted(found) for pid in found[index]]
        log(f"created {count:,} patients in {time.perf_counter() - t0:.1f}s")
        return ids

    def single_requests(self, server: str, tag: str, count: int,
                        patient_ids: list[str]) -> list[bytes]:
        port = self.servers[server].port
        every = self.args.refused_every
        return [loadgen.http_request(HOST, port, "/fhir/Appointment", payloads.appointment_json(
                    self.tag_prefix + tag, i,
                    [NO_SUCH_PATIENT] if refused(i, every) else patient_ids))
                for i in range(count)]

    def expect_single(self, server: str) -> loadgen.Check:
        """201 for each POST; 422 for those naming no stored Patient (`--refused-every`), on
        the service (the floor stores whatever it is sent)."""
        every = self.args.refused_every if server == "service" else 0

        def check(index: int, status: int, body: bytes) -> str | None:
            if refused(index, every):
                return None if status == 422 else f"expected 422, got {status}"
            return expect_created(index, status, body)
        return check

    def compare_single(self, label: str, tag: str) -> dict[str, list[Measure]]:
        """(a)/(c): the same single-Appointment POSTs against service and floor. Each round
        posts for `--patients` new children, so every round starts from the same per-child
        history (none) and only what else the database holds differs."""
        a = self.args
        out: dict[str, list[Measure]] = {"service": [], "floor": []}
        for round_no in range(a.rounds):
            children = self.create_patients(a.patients)
            for server in ("service", "floor"):
                rtag = f"{tag}{round_no}{server[0]}"
                warm = self.single_requests(server, f"{rtag}w", a.warmup, children)
                self._load(server, warm, a.concurrency, self.expect_single(server))
                timed = self.single_requests(server, rtag, a.requests, children)
                out[server].append(self._run(server, timed, a.concurrency,
                                             self.expect_single(server), label))
        return out

    def with_history(self, label: str) -> Measure:
        """(a)'s POSTs for the prefilled children: each already has a long history. The
        warm-up posts for the children after the timed run's, where there are enough, so
        that every timed POST meets a history of PREFILL_PER_CHILD appointments."""
        a = self.args
        children = self.prefilled_children
        spare = children[a.requests:a.requests + a.warmup]
        warm = self.single_requests("service", "hw", a.warmup,
                                    spare if len(spare) == a.warmup else children)
        self._load("service", warm, a.concurrency, self.expect_single("service"))
        timed = self.single_requests("service", "h", a.requests, children[:a.requests])
        return self._run("service", timed, a.concurrency, self.expect_single("service"), label)

    def bundles(self) -> Measure:
        """(b): transaction Bundles, for new children (about five appointments each)."""
        a = self.args
        port = self.servers["service"].port
        size = a.bundle_size
        children = self.create_patients(max(a.patients, (a.bundles + 4) * size // 5))

        def make(tag: str, n: int) -> list[bytes]:
            return [loadgen.http_request(HOST, port, "/fhir", payloads.appointment_bundle(
                tag, k * size, size, children)) for k in range(n)]

        self._load("service", make("bw", 4), a.bundle_concurrency, expect_bundle(size))
        return self._run("service", make("b", a.bundles), a.bundle_concurrency,
                         expect_bundle(size), "(b)", items=size)

    def prefill(self) -> tuple[Measure, int]:
        """Store args.prefill appointments through transaction Bundles, for their own children
        (PREFILL_PER_CHILD each); (measure, stored)."""
        a = self.args
        n, per = a.prefill, a.prefill_bundle
        template = 0 < a.prefill_template < n
        if template:
            n = a.prefill_template
            # Children counted coprime to the 600 days and 4 services the appointments cycle
            # over, so that each child's history falls on days and services of its own.
            count = max(1, n // PREFILL_PER_CHILD)
            while math.gcd(count, payloads.DAYS * len(payloads.SERVICES)) != 1:
                count += 1
        else:
            count = max(1, n // PREFILL_PER_CHILD)
        self.prefilled_children = self.create_patients(count, a.prefill_concurrency, 1000)
        port = self.servers["service"].port
        chunks = [(s, min(per, n - s)) for s in range(0, n, per)]
        children = self.prefilled_children
        progress = {"done": 0, "stored": 0, "every": max(1, len(chunks) // 10)}
        t0 = time.perf_counter()

        def requests() -> Iterator[bytes]:
            for first, size in chunks:
                yield loadgen.http_request(HOST, port, "/fhir", payloads.appointment_bundle(
                    "p", first, size, children, a.prefill_status_list))

        def check(index: int, status: int, body: bytes) -> str | None:
            problem = expect_bundle(chunks[index][1])(index, status, body)
            progress["done"] += 1
            if problem is None:
                progress["stored"] += chunks[index][1]
            if progress["done"] % progress["every"] == 0:
                self.analyze(background=True)
                done = progress["stored"]
                log(f"prefill: {done:,}/{n:,} appointments, "
                    f"{done / (time.perf_counter() - t0):,.0f}/s")
            return problem

        log(f"prefill: {n:,} appointments in {len(chunks)} Bundles of {per} "
            f"over {a.prefill_concurrency} connections")
        before = self.count_appointments()
        deferred = a.prefill_reconcile == "deferred"
        if deferred:
            self.restart_service("service-prefill", {"WNB_RECONCILE_INLINE": "false"})
        try:
            measure = self._run("service", requests(), a.prefill_concurrency, check, "prefill",
                                items=per)
        finally:
            if deferred and not template:
                self.restart_service("service-after-prefill", {})
        stored = self.count_appointments() - before  # wrong answers may still store
        if template:
            # The template is all the database holds, (a)'s writes included: copied until at
            # least --prefill appointments are stored.
            copies = math.ceil(a.prefill / self.count_appointments()) - 1
            self.servers["service"].stop()  # nothing cached of the template survives
            cloned = clone_prefill.clone(self.pg.dsn(self.service_db), copies, self.nhs,
                                         self.prefilled_children, log)
            self.prefilled_children += cloned.children
            self.report.notes.append(
                f"prefill: {stored:,} appointments stored through the service, then the whole "
                f"database (the template: these and (a)'s writes) copied {copies} times in "
                f"SQL ({cloned.rows:,} rows in {cloned.seconds:,.0f} s; "
                f"bench/clone_prefill.py); the template's children "
                f"have histories on days and services of their own. Tokens of an id's shape "
                f"left as they were: {len(cloned.unmapped)} ({', '.join(cloned.unmapped[:8])}).")
            self.restart_service("service-after-prefill", {})
        return measure, stored  # through the service: the copies are in the notes

    def check_kept(self, name: str) -> None:
        """Refuse a --reuse-db that is not a service store: the service would migrate
        whatever database it is given (the admin database, a typo's neighbour)."""
        with psycopg.connect(self.args.admin_dsn, autocommit=True) as admin:
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
        if not found:
            raise RuntimeError(f"--reuse-db: no database {name}")
        with psycopg.connect(self.pg.dsn(name), autocommit=True) as conn:
            kept = conn.execute("SELECT to_regclass('coded_event') IS NOT NULL").fetchone()
        if not (kept and kept[0]):
            raise RuntimeError(f"--reuse-db: {name} holds no service store (no coded_event)")

    def reuse(self, name: str) -> None:
        """Serve (c) from the service database `name`, kept by an earlier run: the service
        restarted on it with a client of its own there, patients numbered past the NHS
        numbers it holds, appointment identifiers of this run's own (the earlier run's tags
        are taken), and for the history phase the children that still have exactly
        PREFILL_PER_CHILD coded events (the earlier phase added to the ones it used)."""
        self.service_db = name
        self.set_settings(name)  # as on (a)'s database, before the service restarts on it
        self.reads = ReadMeter(self.pg.dsn(name))
        self.service_env["WNB_DATABASE_URL"] = self.pg.url(name)
        self.restart_service("service-reused", {})
        creds = register_client(str(Path(sys.executable).parent / "wnb"), self.service_env)
        if creds is not None:
            self.token = BearerToken(
                f"http://{HOST}:{self.servers['service'].port}/auth/token", *creds)
            self.token.header()
        with psycopg.connect(self.pg.dsn(name), autocommit=True) as conn:
            top = conn.execute(
                "SELECT max(value) FROM identity_key WHERE type = 'Patient' AND system = %s "
                "AND value LIKE '999%%'",  # the key's leading columns: one index probe
                (NHS_NUMBER_SYSTEM,)).fetchone()
            self.nhs = payloads.nhs_numbers(int(top[0][3:9]) + 1 if top and top[0] else 0)
            wanted = self.args.requests + self.args.warmup
            self.prefilled_children = untouched_children(conn, wanted)
        self.tag_prefix = f"r{self.run_id.replace('_', 'x')}"
        if len(self.prefilled_children) < wanted:
            raise RuntimeError(
                f"--reuse-db: {name} holds {len(self.prefilled_children)} children with "
                f"{PREFILL_PER_CHILD} appointments and no more; {wanted} needed")
        self.report.notes.append(
            f"(c) ran on {name}, kept by an earlier run (--reuse-db; not prefilled here); "
            f"(a) on an empty database of this run. The history phase's children: the first "
            f"{wanted:,} stored of those with exactly {PREFILL_PER_CHILD} appointments.")

    def analyze(self, background: bool = False) -> None:
        """ANALYZE the service database, standing in for autovacuum (when it is off)."""
        if not self.analyze_on:
            return

        def work() -> None:
            t0 = time.perf_counter()
            self.pg.execute(self.service_db, "ANALYZE")
            self.analyzes.append(time.perf_counter() - t0)

        if not background:
            work()
        elif self.analyzer is None or not self.analyzer.is_alive():
            self.analyzer = threading.Thread(target=work, daemon=True)
            self.analyzer.start()

    def vacuum(self) -> float:
        t0 = time.perf_counter()
        self.pg.execute(self.service_db, "VACUUM (ANALYZE)")
        return time.perf_counter() - t0

    def database_size(self) -> str:
        return str(self.pg.scalar(self.service_db,
                                  "SELECT pg_size_pretty(pg_database_size(current_database()))"))

    def resource_counts(self) -> str:
        with psycopg.connect(self.pg.dsn(self.service_db), autocommit=True) as conn:
            rows = conn.execute("SELECT type, count(*) FROM resource GROUP BY type ORDER BY 1")
            return ", ".join(f"{n:,} {t}" for t, n in rows)

    def count_appointments(self) -> int:
        return int(self.pg.scalar(  # type: ignore[call-overload]
            self.service_db, "SELECT count(*) FROM resource WHERE type = 'Appointment'"))


def untouched_children(conn: psycopg.Connection, wanted: int, batch: int = 2000) -> list[str]:
    """The first `wanted` Patients stored (by key) that have exactly PREFILL_PER_CHILD coded
    events, looked for a batch of Patients at a time: one query over every Patient of a
    10,000,000 store reads 3 GB into the cache just before (c) measures it."""
    found: list[str] = []
    after = 0
    while len(found) < wanted:
        rows = conn.execute(
            "SELECT pk, id FROM resource WHERE type = 'Patient' AND pk > %s ORDER BY pk "
            "LIMIT %s", (after, batch)).fetchall()
        if not rows:
            break
        after = rows[-1][0]
        counts: dict[str, int] = dict(conn.execute(
            "SELECT child_id, count(*) FROM coded_event WHERE child_id = ANY(%s) "
            "GROUP BY child_id", ([i for _, i in rows],)).fetchall())
        found += [i for _, i in rows if counts.get(i) == PREFILL_PER_CHILD]
    return found[:wanted]


# --- report -------------------------------------------------------------------------------------

def status_mix(statuses: tuple[str, ...]) -> str:
    counts = Counter(statuses)
    return " : ".join(f"{n} {s}" for s, n in counts.items()) if len(counts) > 1 else statuses[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def median_measure(measures: list[Measure]) -> tuple[float, float, float, Measure]:
    """Median rate, p50, p99 over rounds; and the measure with the median rate."""
    rates = [m.item_rate for m in measures]
    mid = sorted(measures, key=lambda m: m.item_rate)[len(measures) // 2]
    return (statistics.median(rates),
            statistics.median(m.result.percentile(0.5) for m in measures),
            statistics.median(m.result.percentile(0.99) for m in measures), mid)


def cpu_cell(m: Measure) -> str:
    return (f"{m.server_cores:.2f} / {m.postgres_cores:.2f} / {m.loadgen_cores:.2f} / "
            f"{m.other_cores:.2f}")


def split_cell(m: Measure) -> str:
    return "+".join(map(str, m.split)) if m.split else "?"


def verdict(value: float, target: float) -> str:
    return "yes" if value >= target else "**no**"


def row(scenario: str, server: str, load: str, m: list[Measure], unit: str, ratio: str,
        target: str, met: str) -> tuple[str, ...]:
    rate, p50, p99, mid = median_measure(m)
    fails = sum(x.result.failures for x in m)
    ok = f"{rate:,.0f} {unit}" + (f" ({fails} wrong)" if fails else "")
    return (scenario, server, load, ok, ms(p50), ms(p99), ratio, target, met, cpu_cell(mid),
            split_cell(mid))


def render(report: Report) -> str:
    a = report.args
    versions = ", ".join(f"{name} {_version(name)}" for name in (
        "fastapi", "uvicorn", "pydantic", "fhir.resources", "sqlalchemy", "psycopg"))
    lines = [
        f"### Ingest benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{report.command}`",
        "",
        f"Service code: {report.fingerprint or '?'}.",
        "",
        f"Machine: {os.cpu_count()} cores shared by the servers, PostgreSQL and the load "
        f"generator (one asyncio process); Python {platform.python_version()}, {versions}. "
        f"Service: `wnb serve --workers 2` (WNB_RUN_WORKER=false); floor: bench/floor_app.py, "
        f"uvicorn --workers 2. Appointment status in (a), (b), (c): "
        f"{status_mix(payloads.STATUSES)}. Each single-POST run: "
        f"{a.warmup} warm-up requests (excluded), then {a.requests} timed, {a.concurrency} "
        f"connections"
        + ("" if a.no_balance else " (spread evenly over the two workers)")
        + (f", median of {a.rounds} rounds." if a.rounds > 1 else "."),
        "",
        "| scenario | server | load | throughput | p50 ms | p99 ms | ratio | target | met "
        "| CPU cores: server / postgres / loadgen / other | conn. per worker |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in report.rows]
    if report.notes:
        lines += [""] + [f"- {n}" for n in report.notes]
    for name, files in report.profiles:
        lines += ["", f"py-spy --{a.py_spy_mode} mode, {name} (share of samples; "
                  f"raw stacks in {files[0].parent if files else '?'}):", "", "```"]
        lines += summarise_profile(files)
        lines.append("```")
    for label, read_lines in report.reads:
        lines += ["", f"PostgreSQL's reads, {label} service (pg_stat_statements):", "", "```"]
        lines += read_lines
        lines.append("```")
    return "\n".join(lines)


def service_fingerprint() -> str:
    """sha256 of the service's code (app/**/*.py) and the newest change to it: the service is
    edited while benchmarks run, so say which code was measured."""
    digest = hashlib.sha256()
    newest = 0.0
    for path in sorted((PROJECT_DIR / "app").rglob("*.py")):
        digest.update(path.relative_to(PROJECT_DIR).as_posix().encode())
        digest.update(path.read_bytes())
        newest = max(newest, path.stat().st_mtime)
    stamp = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"app/ sha256 {digest.hexdigest()[:12]}, last changed {stamp} UTC"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


# --- main ---------------------------------------------------------------------------------------

def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None, command: str | None = None) -> int:
    args = parse_args(argv)
    # Clean up (servers, databases) on SIGTERM, and on SIGINT even when started in the
    # background by a shell that ignores it.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    report = Report(command or "bench/ingest " + shlex.join(argv or sys.argv[1:]), args)
    bench = Bench(args, report)
    conc = args.concurrency
    single_load = f"{args.requests} POSTs, {conc} conn."
    try:
        bench.start()
        base: dict[str, list[Measure]] = {}
        if "a" in args.scenarios:
            base = bench.compare_single("(a)", "a")
            svc, flo = median_measure(base["service"])[0], median_measure(base["floor"])[0]
            report.rows.append(row("(a) POST Appointment, empty DB", "service", single_load,
                                   base["service"], "req/s", f"{svc / flo:.2f} service/floor",
                                   ">= 0.8", verdict(svc / flo, 0.8)))
            report.rows.append(row("(a)", "floor", single_load, base["floor"], "req/s", "", "",
                                   "", ))
            if args.rounds > 1:
                report.notes.append(rounds_note("(a)", base))
            report.notes.append(cpu_note("(a)", base))
        if "b" in args.scenarios:
            m = bench.bundles()
            report.rows.append(row(
                f"(b) transaction Bundles of {args.bundle_size}", "service",
                f"{args.bundles} Bundles, {args.bundle_concurrency} conn.", [m], "appts/s",
                f"{m.item_rate / 5000:.2f} x target ({m.result.rate:,.1f} Bundles/s)",
                ">= 5,000 appts/s", verdict(m.item_rate, 5000)))
            if m.item_rate:
                # What A/B runs compare: the rate moves with the machine, the CPU spent on
                # each appointment much less.
                report.notes.append(
                    f"(b): CPU per appointment (cores busy over the rate): service "
                    f"{m.server_cores / m.item_rate * 1e6:,.0f} us, PostgreSQL "
                    f"{m.postgres_cores / m.item_rate * 1e6:,.0f} us.")
        if "c" in args.scenarios:
            if args.reuse_db is not None:
                bench.reuse(args.reuse_db)
            elif args.skip_prefill or args.prefill == 0:
                report.notes.append("prefill skipped (--skip-prefill): (c) ran on what (a) "
                                    "and (b) stored.")
            else:
                m, n = bench.prefill()
                seconds = m.result.elapsed
                report.rows.append((
                    "prefill", "service",
                    f"{n:,} appts ({status_mix(args.prefill_status_list)}), Bundles of "
                    f"{args.prefill_bundle}, {args.prefill_concurrency} conn."
                    + (", reconciliation deferred" if args.prefill_reconcile == "deferred"
                       else ""),
                    f"{n / seconds:,.0f} appts/s", ms(m.result.percentile(0.5)),
                    ms(m.result.percentile(0.99)), f"{seconds:,.0f} s in all", "", "",
                    cpu_cell(m), split_cell(m)))
                if not args.no_vacuum:
                    took = bench.vacuum()
                    report.notes.append(f"after the prefill: VACUUM (ANALYZE) took {took:.0f} s "
                                        "(so (c) is not measured during autovacuum).")
            count = bench.count_appointments()
            if args.page_cache is not None:
                bench.hold_memory(args.page_cache)
            report.notes.append(f"before (c) the service held {bench.resource_counts()}; "
                                f"database size {bench.database_size()}.")
            full = bench.compare_single("(c)", "c")
            svc_c, flo_c = median_measure(full["service"])[0], median_measure(full["floor"])[0]
            svc_a, flo_a = median_measure(base["service"])[0], median_measure(base["floor"])[0]
            report.rows.append(row(
                f"(c) POST Appointment, {count:,} stored", "service", single_load,
                full["service"], "req/s",
                f"{svc_c / svc_a:.2f} vs (a) ({svc_c / svc_a / (flo_c / flo_a):.2f} after the "
                f"floor's drift); {svc_c / flo_c:.2f} service/floor", ">= 0.9",
                verdict(svc_c / svc_a, 0.9)))
            report.rows.append(row("(c)", "floor (noise control)", single_load, full["floor"],
                                   "req/s", f"{flo_c / flo_a:.2f} vs (a)", "", ""))
            report.notes.append(cpu_note("(c)", full))
            if args.rounds > 1:
                report.notes.append(rounds_note("(c)", full))
                clean_a, clean_c = clean_rates(base), clean_rates(full)
                some = any(disturbed(m) for m in [*base["service"], *base["floor"],
                                                  *full["service"], *full["floor"]])
                if some and clean_a is not None and clean_c is not None:
                    (ca_s, ca_f), (cc_s, cc_f) = clean_a, clean_c
                    report.notes.append(
                        f"(c) over the undisturbed rounds only: {cc_s / ca_s:.2f} vs (a), "
                        f"{cc_s / ca_s / (cc_f / ca_f):.2f} after the floor's drift.")
                elif some:
                    report.notes.append(
                        "(c) has no figure over undisturbed rounds: every round of (a) or of "
                        "(c) was disturbed.")
            if bench.prefilled_children:
                hist = bench.with_history("(c) history")
                report.rows.append(row(
                    f"(c) same, for the prefilled children ({PREFILL_PER_CHILD} appts each "
                    "already)", "service", single_load, [hist], "req/s",
                    f"{hist.item_rate / svc_a:.2f} vs (a)", "(info)", ""))
        if bench.analyzes:
            report.notes.append(f"stand-in ANALYZE runs: {len(bench.analyzes)}, "
                                f"{sum(bench.analyzes):.0f} s in all.")
        report.notes.append(f"the service held at the end: {bench.resource_counts()} "
                            "(Flags are raised by the service's rules).")
    except KeyboardInterrupt:
        report.problems.append("interrupted")
    except Exception as exc:
        report.problems.append(f"benchmark aborted: {type(exc).__name__}: {exc}")
    finally:
        bench.stop()
    print(render(report))
    if report.problems:
        print("\nProblems:\n")
        for problem in report.problems:
            print(f"- {problem}")
    return 1 if report.problems else 0
