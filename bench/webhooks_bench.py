"""Webhook delivery benchmark: deliveries/s to a local receiver, and ingest-to-delivery latency
at a steady rate of flags, against `wnb serve` (worker in-process) or `wnb serve` + `wnb worker`
on PostgreSQL. Run by hand; paste the report into bench/RESULTS.md.

    .venv/bin/python bench/webhooks_bench.py                     # embedded worker
    .venv/bin/python bench/webhooks_bench.py --separate-worker   # the production shape
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from procs import Postgres, free_port

ROOT = Path(__file__).resolve().parent.parent
WNB = str(ROOT / ".venv" / "bin" / "wnb")
NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
TOPIC = "https://wnb.dev/fhir/SubscriptionTopic/flag-raised"
FHIR = {"Content-Type": "application/fhir+json"}


class Arrivals:
    """The receiver's record: arrival time of each event's focus Flag id."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.ids: set[str] = set()
        self.duplicates = 0
        self.lock = threading.Lock()

    def server(self) -> ThreadingHTTPServer:
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                now = time.monotonic()
                with arrivals.lock:
                    wid = self.headers["webhook-id"]
                    arrivals.duplicates += wid in arrivals.ids
                    arrivals.ids.add(wid)
                    for entry in orjson.loads(body)["entry"][1:]:
                        arrivals.at.setdefault(entry["fullUrl"].rsplit("/", 1)[-1], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server


def nhs_numbers() -> Any:
    n = 0
    while True:
        n += 1
        first = f"999{n:06d}"
        total = sum(int(d) * w for d, w in zip(first, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            yield first + str(check)


def wnb(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run([WNB, *args], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}


def token(http: httpx.Client, client: dict[str, Any]) -> dict[str, str]:
    r = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def infants(http: httpx.Client, auth: dict[str, str], count: int) -> list[str]:
    """Babies at practice A81001, created untimed in transaction Bundles; their ids."""
    numbers, ids = nhs_numbers(), []
    birth = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
    for start in range(0, count, 100):
        entries = [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": NHS, "value": next(numbers)}],
                    "birthDate": birth,
                    "generalPractitioner": [{"identifier": {"system": ODS, "value": "A81001"}}],
                },
                "request": {"method": "POST", "url": "Patient"},
            }
            for _ in range(min(100, count - start))
        ]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        r = http.post("/fhir", json=bundle, headers={**FHIR, **auth}, timeout=120)
        r.raise_for_status()
        ids += [e["response"]["location"].split("/")[1] for e in r.json()["entry"]]
    return ids


def missed(http: httpx.Client, auth: dict[str, str], pid: str) -> None:
    """A missed appointment yesterday: the infant-wnb rule raises one flag."""
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    appt = {
        "resourceType": "Appointment",
        "status": "noshow",
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(minutes=20)).isoformat().replace("+00:00", "Z"),
        "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}],
    }
    r = http.post("/fhir/Appointment", json=appt, headers={**FHIR, **auth}, timeout=60)
    r.raise_for_status()


def flags_of(dsn: str) -> dict[str, str]:
    """child id -> flag id, read from the database once the run is over."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT child_id, flag_id FROM raised_flag").fetchall()
    return dict(rows)


def wait_for(arrivals: Arrivals, count: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with arrivals.lock:
            if len(arrivals.at) >= count:
                return True
        time.sleep(0.01)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-dsn", default="host=127.0.0.1 port=5432 user=postgres")
    parser.add_argument("--backlog", type=int, default=2000, help="flags queued, then drained")
    parser.add_argument("--rate", type=float, default=100.0, help="flags per second (latency)")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    parser.add_argument("--separate-worker", action="store_true")
    args = parser.parse_args()

    pg = Postgres(args.admin_dsn)
    name = f"wnb_hooks_bench_{os.getpid()}"
    pg.create(name)
    arrivals = Arrivals()
    receiver = arrivals.server()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = free_port()
    env = {
        **os.environ,
        "WNB_DATABASE_URL": pg.url(name),
        "WNB_BASE_URL": f"http://127.0.0.1:{port}",
        "WNB_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WNB_RATE_LIMIT_PER_SECOND": "1000000",
        "WNB_RATE_LIMIT_BURST": "1000000",
        "WNB_TOKEN_TTL_SECONDS": "3600",
        "WNB_LOG_LEVEL": "WARNING",
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = open(f"/tmp/wnb-hooks-bench-{os.getpid()}.log", "wb")  # noqa: SIM115
    report: list[str] = []
    try:
        wnb(env, "migrate")
        agency = wnb(env, "client", "add", "--name", "bench gp", "--role", "agency",
                     "--agency-type", "gp", "--area", "A81001")  # fmt: skip
        source = wnb(env, "client", "add", "--name", "bench source", "--role", "source")
        admin = wnb(env, "client", "add", "--name", "bench admin", "--role", "admin")

        def serve(run_worker: bool) -> None:
            procs.append(
                subprocess.Popen(
                    [WNB, "serve", "--port", str(port)],
                    env={**env, "WNB_RUN_WORKER": "true" if run_worker else "false"},
                    stdout=logs,
                    stderr=logs,
                )
            )

        def worker() -> None:
            procs.append(subprocess.Popen([WNB, "worker"], env=env, stdout=logs, stderr=logs))

        def wait_up() -> None:
            for _ in range(300):
                try:
                    if http.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)

        serve(run_worker=False)  # phase 1 queues a backlog with no one delivering
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_up()
        gp, src, adm = token(http, agency), token(http, source), token(http, admin)
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/wnb"
        sub = {
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "bench",
            "criteria": TOPIC,
            "channel": {"type": "rest-hook", "endpoint": hook, "payload": "application/fhir+json"},
        }
        r = http.post("/fhir/Subscription", json=sub, headers={**FHIR, **gp})
        r.raise_for_status()
        sid = r.json()["id"]

        # 1. Deliveries/s: a backlog of flags raised with no worker, then one worker drains it.
        babies = infants(http, adm, args.backlog + int(args.rate * args.seconds))
        backlog, steady = babies[: args.backlog], babies[args.backlog :]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda p: missed(http, src, p), backlog))
        worker()
        drained = wait_for(arrivals, args.backlog, 600)
        if drained:
            times = sorted(arrivals.at.values())
            rate = f"{(len(times) - 1) / (times[-1] - times[0]):.0f} deliveries/s"
        else:
            rate = f"NOT drained in 600 s ({len(arrivals.at)} delivered)"
        report.append(f"- backlog of {args.backlog} flags drained by one `wnb worker`: {rate}")
        if not args.separate_worker:  # phase 2 as deployed by default: one process
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
            procs.clear()
            serve(run_worker=True)
            wait_up()

        # 2. Ingest-to-delivery latency at a steady rate (open loop).
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}
        interval = 1.0 / args.rate
        start = time.monotonic() + 0.5

        def send(i: int, pid: str) -> None:
            at = start + i * interval
            time.sleep(max(0.0, at - time.monotonic()))
            sent[pid] = time.monotonic()
            missed(http, src, pid)
            answered[pid] = time.monotonic()

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(send, range(len(steady)), steady))
        wait_for(arrivals, args.backlog + len(steady), 60)
        flag_of = flags_of(pg.dsn(name))
        latencies = sorted(
            arrivals.at[flag_of[p]] - sent[p] for p in steady if flag_of.get(p) in arrivals.at
        )
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [float("nan")] * 99
        posts = statistics.quantiles([answered[p] - sent[p] for p in answered], n=100)
        after = sorted(
            arrivals.at[flag_of[p]] - answered[p] for p in steady if flag_of.get(p) in arrivals.at
        )
        qa = statistics.quantiles(after, n=100)
        report.append(
            f"- {len(steady)} flags at {args.rate:.0f}/s for {args.seconds:.0f} s: "
            f"{len(latencies)} delivered; ingest-to-delivery p50 {q[49] * 1000:.0f} ms, "
            f"p99 {q[98] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )
        report.append(
            f"  - of which the POST itself (ingest, reconcile, commit): p50 "
            f"{posts[49] * 1000:.0f} ms, p99 {posts[98] * 1000:.0f} ms; from the POST's answer "
            f"to delivery: p50 {qa[49] * 1000:.0f} ms, p99 {qa[98] * 1000:.0f} ms"
        )
        status = http.get(f"/fhir/Subscription/{sid}/$status", headers=gp).json()
        events = next(
            p["valueString"]
            for p in status["entry"][0]["resource"]["parameter"]
            if p["name"] == "events-since-subscription-start"
        )
        report.append(
            f"- events numbered: {events}; duplicate webhook-ids seen: {arrivals.duplicates}"
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        receiver.shutdown()
        pg.drop_all()
    mode = "wnb serve + wnb worker" if args.separate_worker else "wnb serve (worker in-process)"
    print(f"### Webhooks, {mode}, PostgreSQL, loopback ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
