"""bench/mllp_bench.py: HL7 v2 misses (SIU^S26) over MLLP, against the same misses over FHIR
REST, in one run on a fresh PostgreSQL database (created here and dropped at the end).

Each miss is a child the service has not seen and an appointment not attended: over MLLP one
SIU^S26 (python-hl7's `MLLPClient`, one ACK per message), over REST one transaction Bundle of
the Patient and the Appointment (`noshow`) per POST. Both go through the same write path. The
MLLP listener and a uvicorn server for the REST API run in this process (threads, as inside
`wnb serve`); the clients are threads of it too, so both transports share the same 2 cores
the same way. Every message must get AA and every POST 200.

    .venv/bin/python bench/mllp_bench.py --messages 2000
    .venv/bin/python bench/mllp_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import orjson
import uvicorn
from hl7.client import MLLPClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.main import create_app
from app.mllp.listener import Listener
from app.mllp.networks import parse_networks
from app.runtime import AppState, build_state
from app.services.access.clients import add_client
from app.services.access.hl7_senders import register_facility
from app.settings import Settings
from app.store.migrate import upgrade_head
from fresh_db import fresh_database
from payloads import nhs_numbers

FACILITY = "RXBENCH"
START = "20261101090000"  # a miss a month before the benchmark's day, in London time


def s26(control: str, nhs: str, appt: str) -> str:
    return (
        "\r".join(
            [
                f"MSH|^~\\&|PAS|{FACILITY}|WNB|WNB|20261101100000||SIU^S26^SIU_S12|{control}|P|2.5.1",
                f"SCH||{appt}^PAS|||||||||||||||||||||||Noshow",
                f"TQ1|1||||||{START}|20261101093000",
                f"PID|1||{nhs}^^^NHS^NH||Bench^Child||20200301|F",
                "AIS|1||DENT^Paediatric dental^L",
                "AIL|1||^^^RX1^^^^^Dental clinic",
            ]
        )
        + "\r"
    )


def bundle(nhs: str, appt: str) -> bytes:
    child = f"urn:uuid:{uuid.uuid4()}"
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "name": [{"family": "Bench", "given": ["Child"]}],
        "gender": "female",
        "birthDate": "2020-03-01",
    }
    appointment = {
        "resourceType": "Appointment",
        "status": "noshow",
        "identifier": [{"system": "https://bench/appt", "value": appt}],
        "serviceType": [{"coding": [{"system": "https://example.org/service", "code": "dental"}]}],
        "start": "2026-11-01T09:00:00+00:00",
        "end": "2026-11-01T09:30:00+00:00",
        "participant": [{"actor": {"reference": child}, "status": "accepted"}],
    }
    entries = [
        {"fullUrl": child, "resource": patient, "request": {"method": "POST", "url": "Patient"}},
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": appointment,
            "request": {"method": "POST", "url": "Appointment"},
        },
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def timed(work: Callable[[int], None], count: int, connections: int) -> float:
    """Seconds for `count` items split over `connections` threads, each its own connection."""
    share = [
        count // connections + (1 if i < count % connections else 0) for i in range(connections)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(work, share))
    return time.perf_counter() - started


def mllp_sender(port: int, numbers: Iterator[str], lock: threading.Lock) -> Callable[[int], None]:
    def send(count: int) -> None:
        with MLLPClient("127.0.0.1", port) as client:
            for _ in range(count):
                with lock:
                    nhs = next(numbers)
                tag = uuid.uuid4().hex[:16]
                ack = client.send_message(s26(tag, nhs, f"M{tag}")).decode()
                if "MSA|AA|" not in ack:
                    raise RuntimeError(f"not AA: {ack!r}")

    return send


def rest_sender(
    base: str, token: str, numbers: Iterator[str], lock: threading.Lock
) -> Callable[[int], None]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    def send(count: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            for _ in range(count):
                with lock:
                    nhs = next(numbers)
                answer = http.post("/fhir", content=bundle(nhs, f"R{uuid.uuid4().hex[:16]}"))
                if answer.status_code != 200:
                    raise RuntimeError(f"POST {answer.status_code}: {answer.text[:300]}")

    return send


def serve_http(state: AppState) -> tuple[uvicorn.Server, threading.Thread, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(state=state), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, port


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_head(url)
    settings = Settings(
        database_url=url, run_worker=False, rate_limit_per_second=1e6, rate_limit_burst=10**6
    )
    state = build_state(settings)

    def clients(s):  # type: ignore[no-untyped-def]
        pas = add_client(s, "Bench PAS", None, "source", None, state.clock())
        register_facility(s, pas.client_id, FACILITY)
        return add_client(s, "Bench REST source", None, "source", None, state.clock())

    rest_client = state.write(clients)
    listener = Listener(state, "127.0.0.1", 0, parse_networks("127.0.0.0/8"))
    listener.start_in_thread()
    server, thread, port = serve_http(state)
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(
        f"{base}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(rest_client.client_id, rest_client.client_secret or ""),
    ).json()["access_token"]
    numbers, lock = nhs_numbers(), threading.Lock()
    mllp, rest = mllp_sender(listener.port, numbers, lock), rest_sender(base, token, numbers, lock)
    timed(mllp, args.warmup, 1)  # warm both paths (caches, prepared statements), not timed
    timed(rest, args.warmup, 1)
    rates: dict[tuple[str, int], float] = {}
    for connections in (1, args.connections):
        for name, work in (("MLLP SIU^S26", mllp), ("REST Bundle POST", rest)):
            seconds = timed(work, args.messages, connections)
            rates[(name, connections)] = args.messages / seconds
            print(f"{name}, {connections} conn.: {args.messages / seconds:.0f}/s", file=sys.stderr)
    server.should_exit = True
    thread.join(10)
    listener.stop()
    state.engine.dispose()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"### MLLP benchmark, {stamp}\n")
    print(f"Command: `.venv/bin/python bench/mllp_bench.py {' '.join(sys.argv[1:])}`".rstrip())
    print(f"\nLoad average before the run: {args.load_before}; after: {_load()}.\n")
    print("| transport | connections | misses | misses/s | MLLP / REST |\n|---|---|---|---|---|")
    for connections in (1, args.connections):
        ratio = rates[("MLLP SIU^S26", connections)] / rates[("REST Bundle POST", connections)]
        for name in ("MLLP SIU^S26", "REST Bundle POST"):
            shown = f"{ratio:.2f}" if name.startswith("MLLP") else ""
            rate = rates[(name, connections)]
            print(f"| {name} | {connections} | {args.messages} | {rate:,.0f} | {shown} |")


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="admin URL: the benchmark runs in a fresh database there, dropped at the end",
    )
    parser.add_argument("--messages", type=int, default=2000, help="misses per measurement")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    args.load_before = _load()
    logging.getLogger().setLevel(logging.WARNING)
    with fresh_database(args.postgres, "wnb_bench_mllp") as url:
        run(url, args)


if __name__ == "__main__":
    main()
