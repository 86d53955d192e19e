"""bench/stages.py: where the server's CPU goes, stage by stage (issue 21, item 1).

In-process against a fresh PostgreSQL database (dropped at the end): children with some
history are seeded through the real ingest (untimed), then `--posts` single noshow
Appointment POSTs and `--bundles` transaction Bundles of `--bundle-size` noshow appointments
go through the ASGI app (FastAPI's TestClient, a bearer token from /auth/token, rules and
inline reconciliation on), one request at a time. The FLOOR (bench/floor_app.py: R4B
validation, one insert, commit) answers the same single POSTs in the same run, on a table in
the same database, so the table carries the ratio.

How CPU is attributed (`stage_timing.py`): the functions that begin each stage are wrapped
for the run, and the CPU time of the thread running them (time.thread_time) is charged to the
innermost stage on that thread's stack; a sub-stage counts only inside its stage (the
service's own Flag rows written by reconciliation are reconciliation, not "writes"). The
server's CPU per request is the process's CPU minus the client's thread; what no stage
claims is "other" (routing, middleware, dependency injection, thread hand-offs, sessions).
Statements are counted by stage with a `before_cursor_execute` listener (the driver-level
bulk writes announce themselves to it). Wrapping costs about a microsecond per stage entry;
the floor is not wrapped. Run by hand:

    .venv/bin/python bench/stages.py [--posts 600 --bundles 12 --bundle-size 100]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import math
import os
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import payloads  # noqa: E402
import stage_timing  # noqa: E402
from app.group_commit import GroupCommit  # noqa: E402
from app.main import create_app  # noqa: E402
from app.runtime import AppState, build_state, settle_heap  # noqa: E402
from app.services.access.clients import add_client  # noqa: E402
from app.services.common.writes import WriteRequest  # noqa: E402
from app.services.records.ingest import write_resources  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.store.migrate import upgrade_head  # noqa: E402
from bench_ingest import FLOOR_TABLE_DDL  # noqa: E402
from fresh_db import fresh_database  # noqa: E402

FHIR_JSON = {"Content-Type": "application/fhir+json"}
WAL_CHUNK = 25
HISTORY = ("fulfilled", "noshow", "fulfilled", "fulfilled")  # each child's earlier outcomes


def seed(state: AppState, children: int, earlier: int = len(HISTORY)) -> list[str]:
    """`children` Patients, each with `earlier` earlier appointments (HISTORY's outcomes in
    turn); their ids."""
    numbers = payloads.nhs_numbers(500_000)
    patients = [
        WriteRequest(type="Patient", data=payloads.patient(next(numbers), i))
        for i in range(children)
    ]
    ids = [r.id for r in state.write(lambda s: write_resources(s, patients, state.write_context()))]
    # A child's j-th earlier appointment is number k + j * stride: with the stride coprime to
    # the payloads' days, each falls on a day of its own (with `children` dividing the days,
    # as 600 does, every one of a child's appointments fell on one day with one service, and
    # the rules folded them as reports of one miss).
    stride = next(s for s in itertools.count(children) if math.gcd(s, payloads.DAYS) == 1)
    history = [
        WriteRequest(
            type="Appointment",
            data=payloads.appointment(f"seed-{k}-{j}", ids[k], k + j * stride, HISTORY),
        )
        for j in range(earlier)
        for k in range(children)
    ]
    for first in range(0, len(history), 500):
        batch = history[first : first + 500]
        state.write(lambda s, b=batch: write_resources(s, b, state.write_context()))
    return ids


def bearer(state: AppState, http: TestClient) -> str:
    new = state.write(lambda s: add_client(s, "stages bench", None, "source", None, state.clock()))
    form = {"grant_type": "client_credentials"}
    r = http.post("/auth/token", data=form, auth=(new.client_id, new.client_secret or ""))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@contextmanager
def server_cpu() -> Iterator[list[float]]:
    """The process's CPU time over the block minus the calling (client) thread's."""
    out: list[float] = []
    process, client = time.process_time(), time.thread_time()
    yield out
    out.append((time.process_time() - process) - (time.thread_time() - client))


def send(http: TestClient, bodies: list[bytes], path: str, ok: Callable[[Any], bool]) -> None:
    for body in bodies:
        r = http.post(path, content=body, headers=FHIR_JSON)
        if not ok(r):
            raise SystemExit(f"wrong answer from {path}: {r.status_code} {r.text[:400]}")


def created(r: Any) -> bool:
    return r.status_code == 201


def bundle_ok(r: Any) -> bool:
    return r.status_code == 200 and all(
        e["response"]["status"].startswith("201") for e in r.json()["entry"]
    )


class Profiled:
    """cProfile in every thread that serves a request: the event loop's part (the ASGI app)
    and the worker threads' (the audited use case, the token check); merged at the end."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.profiles: list[cProfile.Profile] = []

    @contextmanager
    def on(self) -> Iterator[None]:
        if getattr(self.local, "on", False):
            yield
            return
        if not hasattr(self.local, "profile"):
            self.local.profile = cProfile.Profile(time.thread_time)  # CPU, not waits
            self.profiles.append(self.local.profile)
        self.local.on = True
        self.local.profile.enable()
        try:
            yield
        finally:
            self.local.profile.disable()
            self.local.on = False

    def wrap_sync(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.on():
                return fn(*args, **kwargs)

        return wrapped

    def app(self, asgi: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            with self.on():
                await asgi(scope, receive, send)

        return wrapped

    def top(self, requests: int, count: int, out: Path | None = None) -> list[str]:
        stats = pstats.Stats(self.profiles[0])
        for extra in self.profiles[1:]:
            stats.add(extra)
        if out is not None:  # for pstats' callers and callees, which the summary leaves out
            stats.dump_stats(out)
        items = stats.stats.items()  # type: ignore[attr-defined]
        by_self = sorted(items, key=lambda kv: -kv[1][2])[:count]
        ours = [
            kv
            for kv in items
            if "/app/" in kv[0][0] or "fastapi/" in kv[0][0] or "starlette/" in kv[0][0]
        ]
        by_incl = sorted(ours, key=lambda kv: -kv[1][3])[:count]
        out = ["by self time:", "self ms/req  incl. ms/req  function"]
        ours_title = "app/, fastapi, starlette by inclusive time:"
        for title, rows in (("", by_self), (ours_title, by_incl)):
            if title:
                out += ["", title, "self ms/req  incl. ms/req  function"]
            for (file, line, name), (_cc, _nc, tottime, cumtime, _callers) in rows:
                where = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
                out.append(
                    f"{tottime * 1000 / requests:11.3f}  "
                    f"{cumtime * 1000 / requests:12.3f}  {name} ({where}:{line})"
                )
        return out


def profile_requests(
    state: AppState,
    token: str,
    bodies: list[bytes],
    path: str,
    ok: Callable[[Any], bool],
    per: int,
    count: int,
    out: Path | None = None,
) -> list[str]:
    """Functions with the most self time per POST (or per Bundle entry: `per` entries in
    each body), under cProfile (a separate pass: cProfile slows Python calls, so its times
    are not the table's)."""
    prof = Profiled()
    # The thread entry points of a write: alone, and through group commit.
    audited, grouped = AppState.audited, GroupCommit.run
    AppState.audited = prof.wrap_sync(audited)  # type: ignore[method-assign]
    GroupCommit.run = prof.wrap_sync(grouped)  # type: ignore[method-assign]
    try:
        with TestClient(prof.app(create_app(state=state))) as http:
            http.headers["Authorization"] = f"Bearer {token}"
            send(http, bodies, path, ok)
    finally:
        AppState.audited = audited  # type: ignore[method-assign]
        GroupCommit.run = grouped  # type: ignore[method-assign]
    return prof.top(len(bodies) * per, count, out)


def wal_lsn(probe: Engine) -> int:
    with probe.connect() as conn:
        return int(conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one())


def storage(state: AppState) -> str:
    """Each table's size with its indexes and TOAST, and per stored appointment."""
    with state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
        appointments = conn.execute(
            text("SELECT count(*) FROM resource WHERE type = 'Appointment'")
        ).scalar_one()
        sizes = conn.execute(
            text(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
                "ORDER BY 2 DESC LIMIT 12"
            )
        ).all()
        rows = {
            name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name, _ in sizes
        }
        database = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    out = [
        f"Storage after the run: {appointments:,} Appointments stored, database "
        f"{database / 2**20:.1f} MiB = {database / appointments:,.0f} bytes per appointment "
        "(fixed overhead included).",
        "",
        "| table (with indexes, TOAST) | rows | rows per appointment | bytes "
        "| bytes per appointment |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, size in sizes:
        out.append(
            f"| {name} | {rows[name]:,} | {rows[name] / appointments:.2f} | {size:,} | "
            f"{size / appointments:,.0f} |"
        )
    return "\n".join(out)


def floor_cpu(url: str, bodies: list[bytes], rounds: int) -> list[float]:
    """Server CPU per request of the FLOOR app on the same POSTs, per round."""
    with create_engine(url).begin() as conn:
        conn.execute(text(FLOOR_TABLE_DDL))
    os.environ["FLOOR_DATABASE_URL"] = url
    import floor_app  # here: it reads its database URL on import

    per_round = []
    with TestClient(floor_app.app) as http:
        send(http, bodies[:50], "/fhir/Appointment", created)
        chunk = len(bodies) // rounds
        for n in range(rounds):
            part = bodies[n * chunk : (n + 1) * chunk]
            with server_cpu() as cpu:
                send(http, part, "/fhir/Appointment", created)
            per_round.append(cpu[0] / len(part))
    floor_app.engine.dispose()
    return per_round


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_head(url)
    settings = Settings(
        database_url=url, run_worker=False, rate_limit_per_second=1e6, rate_limit_burst=10**6
    )
    state = build_state(settings)
    started = time.perf_counter()
    pids = seed(state, args.children, args.history)
    print(f"seeded {len(pids)} children in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    size = args.bundle_size
    posts = [payloads.appointment_json("post", i, pids) for i in range(args.posts + 50)]
    plain_posts = [payloads.appointment_json("plain", i, pids) for i in range(args.posts + 50)]
    plain_bundles = [
        payloads.appointment_bundle("plain-bundle", n * size, size, pids)
        for n in range(args.bundles)
    ]
    bundles = [
        payloads.appointment_bundle("bundle", n * size, size, pids) for n in range(args.bundles + 1)
    ]
    floor_bodies = [payloads.appointment_json("floor", i, pids) for i in range(args.posts + 50)]
    probe = create_engine(url)  # WAL positions, on an engine whose statements are not counted
    timing = stage_timing.StageTiming()
    event.listen(state.engine, "before_cursor_execute", timing.statement)
    with TestClient(create_app(state=state)) as http:
        token = bearer(state, http)
        http.headers["Authorization"] = f"Bearer {token}"
        # Untimed warm-up: imports, prepared statements, caches.
        send(http, posts[:50], "/fhir/Appointment", created)
        send(http, bundles[:1], "/fhir", bundle_ok)
        settle_heap()  # as `wnb serve` and `wnb worker` do once started
        timing.reset()
        # Chunks with the stage wrappers and without them take turns, so that what the
        # wrappers cost is measured on the same children at the same time.
        post_wal: list[float] = []
        post_cpu, plain_cpu = [0.0], [0.0]
        for n, first in enumerate(range(50, len(posts), WAL_CHUNK)):
            for wrapped in (True, False) if n % 2 == 0 else (False, True):
                if wrapped:
                    part = posts[first : first + WAL_CHUNK]
                    with timing.installed(), server_cpu() as cpu:
                        before = wal_lsn(probe)
                        send(http, part, "/fhir/Appointment", created)
                        post_wal.append((wal_lsn(probe) - before) / len(part))
                    post_cpu[0] += cpu[0]
                else:
                    with server_cpu() as cpu:
                        send(
                            http,
                            plain_posts[first : first + WAL_CHUNK],
                            "/fhir/Appointment",
                            created,
                        )
                    plain_cpu[0] += cpu[0]
        post_shapes: list[str] = []
        post_stages = timing.take(post_cpu[0], args.posts, post_shapes)
        bundle_wal: list[float] = []
        bundle_cpu, plain_bundle_cpu = [0.0], [0.0]
        for n, (body, plain) in enumerate(zip(bundles[1:], plain_bundles, strict=True)):
            for wrapped in (True, False) if n % 2 == 0 else (False, True):
                if wrapped:
                    with timing.installed(), server_cpu() as cpu:
                        before = wal_lsn(probe)
                        send(http, [body], "/fhir", bundle_ok)
                        bundle_wal.append((wal_lsn(probe) - before) / size)
                    bundle_cpu[0] += cpu[0]
                else:
                    with server_cpu() as cpu:
                        send(http, [plain], "/fhir", bundle_ok)
                    plain_bundle_cpu[0] += cpu[0]
        bundle_shapes: list[str] = []
        bundle_stages = timing.take(bundle_cpu[0], args.bundles, bundle_shapes)
    # The Bundle table is per entry; its statement column per Bundle.
    bundle_stages = {k: (ms / size, n) for k, (ms, n) in bundle_stages.items()}
    extra = [payloads.appointment_json("prof", i, pids) for i in range(args.profile)]
    top = (
        profile_requests(
            state, token, extra, "/fhir/Appointment", created, 1, args.top, args.profile_out
        )
        if args.profile
        else []
    )
    more = [
        payloads.appointment_bundle("prof-bundle", n * size, size, pids)
        for n in range(args.profile_bundles)
    ]
    bundle_top = (
        profile_requests(state, token, more, "/fhir", bundle_ok, size, args.top) if more else []
    )
    floors = floor_cpu(url, floor_bodies, args.floor_rounds)
    floor_ms = statistics.median(floors) * 1000
    print(stage_timing.report(post_stages, bundle_stages, floor_ms, args, size))
    rounds = ", ".join(f"{f * 1000:.2f}" for f in floors)
    print(f"\nfloor ms CPU per request by round: {rounds}; median {floor_ms:.2f}")
    wrapped, plain = post_cpu[0] / args.posts, plain_cpu[0] / args.posts
    print(
        f"\nWhat the stage wrappers cost (chunks with and without them taking turns): "
        f"{wrapped * 1000:.2f} against {plain * 1000:.2f} ms per single POST "
        f"({wrapped / plain - 1:+.0%}); {bundle_cpu[0] * 1000 / (args.bundles * size):.3f} "
        f"against {plain_bundle_cpu[0] * 1000 / (args.bundles * size):.3f} ms per Bundle entry "
        f"({bundle_cpu[0] / plain_bundle_cpu[0] - 1:+.0%})."
    )
    print("\nStatements per single POST by stage (count, stage: first words):\n```")
    print("\n".join(post_shapes))
    print("```\n\nStatements per Bundle by stage:\n```")
    print("\n".join(bundle_shapes))
    print("```")
    print(
        f"\nWAL written, least and median of the chunks ({WAL_CHUNK} POSTs; one Bundle): "
        f"{min(post_wal):,.0f} / {statistics.median(post_wal):,.0f} bytes per single POST, "
        f"{min(bundle_wal):,.0f} / {statistics.median(bundle_wal):,.0f} bytes per Bundle "
        "entry. The WAL position is the server's: other databases' writes in a chunk count "
        "too (the least chunk is the least disturbed), and so do full-page images after a "
        "checkpoint."
    )
    print("\n" + storage(state))
    if top:
        print(
            f"\ncProfile, {args.profile} more single POSTs (separate pass), "
            f"top {args.top} by self time:\n```"
        )
        print("\n".join(top))
        print("```")
    if bundle_top:
        print(
            f"\ncProfile, {args.profile_bundles} more Bundles of {size} (separate pass), "
            f"top {args.top} by self time, ms per entry:\n```"
        )
        print("\n".join(bundle_top))
        print("```")
    state.engine.dispose()
    probe.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--bundles", type=int, default=12)
    parser.add_argument("--bundle-size", type=int, default=100)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument(
        "--history",
        type=int,
        default=len(HISTORY),
        help="earlier appointments per child before the timed writes (default 4)",
    )
    parser.add_argument("--floor-rounds", type=int, default=3)
    parser.add_argument(
        "--profile", type=int, default=200, help="single POSTs for the cProfile pass (0: none)"
    )
    parser.add_argument(
        "--profile-bundles", type=int, default=0, help="Bundles for a cProfile pass (0: none)"
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--profile-out",
        type=Path,
        default=None,
        help="write the single POSTs' cProfile stats here (pstats format)",
    )
    args = parser.parse_args()
    print(
        f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()}",
        file=sys.stderr,
    )
    with fresh_database(args.admin, "wnb_bench_stages") as url:
        run(url, args)
    print(f"\nload average at the end {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
