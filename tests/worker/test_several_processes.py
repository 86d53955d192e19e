"""Several processes on one PostgreSQL (issue 21, item 5): two API processes (`wnb serve
--workers 2`, reconciliation left to the workers) and two `wnb worker` processes, under
concurrent load from families whose children are posted through different connections at
once. When everything has settled: the open concerns are exactly what the pure evaluation of
the stored facts calls for (no reconciliation mark lost or applied twice), every notification
reached the agency once, nothing waits in the outbox, and the audit chain verifies with every
record sealed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from app.rules.concerns import desired_concerns
from app.rules.desired import FamilyFacts, desired_flags
from app.runtime import AppState
from app.services.access.clients import add_client
from app.services.agencies.agencies import bind_agency
from app.services.concerns import family_facts
from app.store import family_repo, outbox_repo
from app.store.audit_chain import verify
from app.store.models import Family, RaisedFlag
from app.store.reconcile_models import ReconcileDue
from tests.conftest import TEST_SECRET
from tests.factories import appointment, nhs_number, patient, related_person
from tests.live_server import free_port
from tests.notify.conftest import LOOPBACK
from tests.notify.kit import ODS, subscription
from tests.notify.receiver import receiving

pytestmark = [
    pytest.mark.postgres_only("several processes share one PostgreSQL"),
    pytest.mark.own_connections("API and worker processes"),
]

FAMILIES = 12
DEADLINE = 240.0  # seconds: generous, a loaded machine must not fail this


def _env(state: AppState, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WNB_DATABASE_URL": state.settings.database_url,
        "WNB_SECRET_KEY": TEST_SECRET,
        "WNB_RATE_LIMIT_PER_SECOND": "1000000",
        "WNB_RATE_LIMIT_BURST": "1000000",
        "WNB_AUTH_CACHE_SECONDS": "0",
        "WNB_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
        "WNB_RUN_WORKER": "false",
        **extra,
    }


@contextmanager
def _processes(state: AppState, logs: Path) -> Iterator[str]:
    """Two API processes on one port and two workers; the API's base URL."""
    port = free_port()
    api = _env(state, WNB_RECONCILE_INLINE="false")
    work = _env(
        state,
        WNB_DUE_CHECK_SECONDS="1",
        WNB_AUDIT_SEAL_SECONDS="1",
        WNB_WEBHOOK_POLL_SECONDS="0.2",
        WNB_WEBHOOK_TIMEOUT_SECONDS="10",
    )
    commands = [
        (["serve", "--port", str(port), "--workers", "2"], api),
        (["worker"], work),
        (["worker"], work),
    ]
    started: list[subprocess.Popen[bytes]] = []
    try:
        for k, (args, env) in enumerate(commands):
            out = (logs / f"process-{k}.log").open("ab")
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", *args], env=env, stdout=out, stderr=out
                )
            )
        base = f"http://127.0.0.1:{port}"
        _until(lambda: _healthy(base), "the API processes never answered")
        yield base
    finally:
        for p in started:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in started:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _until(condition: Callable[[], bool], message: object) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, str(message)
        time.sleep(0.2)


def _family(k: int, today: datetime) -> list[tuple[str, dict[str, Any]]]:
    """A baby and an older sibling of one mother, each missing one to three appointments in
    the last week (dates far from every rule's window edge, so the judgement at ingest and
    the check below agree). PUT with client ids, so any order and any process may take any."""
    gp = [{"identifier": {"system": ODS, "value": "A81001"}}]
    baby = (today - timedelta(days=120)).date().isoformat()
    older = (today - timedelta(days=6 * 365)).date().isoformat()
    kids = {f"mp-{k}-b-{nhs_number()}": baby, f"mp-{k}-o-{nhs_number()}": older}
    mother = nhs_number()
    out: list[tuple[str, dict[str, Any]]] = []
    for n, (pid, born) in enumerate(kids.items()):
        out.append(("Patient", {**patient(birth=born, generalPractitioner=gp), "id": pid}))
        out.append(("RelatedPerson", {**related_person(f"Patient/{pid}", mother), "id": f"r{pid}"}))
        for m in range(1 + (k + n) % 3):
            start = (today - timedelta(days=2 + m)).replace(hour=9, minute=0, second=0)
            body = appointment(f"Patient/{pid}", "noshow", start.isoformat(), service="gp")
            out.append(("Appointment", {**body, "id": f"a{m}{pid}"}))
    return out


def _token(base: str, client_id: str, secret: str) -> dict[str, str]:
    """A bearer header got from the live processes (their clock is the real one; the suite's
    fixtures sign at a fixed date long past)."""
    form = {"grant_type": "client_credentials"}
    r = httpx.post(f"{base}/auth/token", data=form, auth=(client_id, secret), timeout=60)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _clients(state: AppState) -> tuple[tuple[str, str], tuple[str, str]]:
    """An admin client and a GP agency in A81001: (id, secret) each."""

    def add(session: Any) -> tuple[tuple[str, str], tuple[str, str]]:
        now = datetime.now(UTC)
        admin = add_client(session, "load admin", None, "admin", None, now)
        gp = add_client(session, "gp agency", None, "agency", None, now)
        bind_agency(session, gp.client_id, "gp", ["A81001"], False)
        return (
            (admin.client_id, admin.client_secret or ""),
            (gp.client_id, gp.client_secret or ""),
        )

    return state.write(add)


def _put(http: httpx.Client, item: tuple[str, dict[str, Any]]) -> None:
    kind, data = item
    r = http.put(f"/fhir/{kind}/{data['id']}", json=data)
    assert r.status_code in (200, 201), r.text


def _open_concerns(session: Any) -> dict[str, set[str]]:
    rows = session.scalars(select(RaisedFlag).where(RaisedFlag.is_open))
    return {r.child_id: set(r.reason_rules.split()) for r in rows}


def _open_flag_ids(session: Any) -> set[str]:
    return set(session.scalars(select(RaisedFlag.flag_id).where(RaisedFlag.is_open)))


def _focus(body: bytes) -> set[str]:
    """The Flags a notification names (none for a handshake)."""
    params = orjson.loads(body)["entry"][0]["resource"]["parameter"]
    events = [p for p in params if p["name"] == "notification-event"]
    parts = [x for e in events for x in e["part"] if x["name"] == "focus"]
    return {x["valueReference"]["reference"].rsplit("/", 1)[-1] for x in parts}


def _pure(state: AppState, now: datetime) -> Callable[[Any], dict[str, set[str]]]:
    def judge(session: Any) -> dict[str, set[str]]:
        families = list(session.scalars(select(Family.family_id)))
        rows = family_repo.members_with_records(session, families)
        _, loaded = family_facts.load(session, rows, True)
        out: dict[str, set[str]] = {}
        for facts in loaded.facts.values():
            wanted = desired_flags(state.rules, FamilyFacts(facts.events, facts.statuses), now)
            out.update({c: set(k.reasons) for c, k in desired_concerns(wanted).items()})
        return out

    return judge


SEEN: dict[str, object] = {}  # what the last look found, for the message of a timeout


def _settled(state: AppState) -> bool:
    """No reconciliation due now (marks due later are the rules' windows closing), every
    message delivered, every audit record sealed."""
    with state.reader() as session:
        due = ReconcileDue.due_at <= datetime.now(UTC)
        marks = session.scalar(select(func.count()).select_from(ReconcileDue).where(due)) or 0
        counts = outbox_repo.counts_by_state(session)
        report = verify(session, state.audit_keys)
    SEEN.update(marks=marks, outbox=counts, unsealed=report.unchained)
    return marks == 0 and set(counts) == {"delivered"} and report.unchained == 0


def test_two_api_processes_and_two_workers_lose_nothing_and_do_nothing_twice(
    hooks_state: AppState, tmp_path: Path
) -> None:
    today = datetime.now(UTC)
    admin, gp_client = _clients(hooks_state)
    families = [_family(k, today) for k in range(FAMILIES)]
    with receiving() as hook, _processes(hooks_state, tmp_path) as base:
        auth, gp = _token(base, *admin), _token(base, *gp_client)
        with httpx.Client(base_url=base, headers=gp, timeout=60) as agency_http:
            r = agency_http.post("/fhir/Subscription", json=subscription(hook.url))
            assert r.status_code == 201, r.text
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            # Patients first (a reference must resolve); then every carer and miss of every
            # family at once, eight at a time, so siblings land on different processes.
            patients = [i for f in families for i in f if i[0] == "Patient"]
            rest = [i for f in families for i in f if i[0] != "Patient"]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: _put(http, i), patients))
                list(pool.map(lambda i: _put(http, i), rest))
        _until(lambda: _settled(hooks_state), f"still waiting: {SEEN}")
        received = list(hook.requests)

    live = hooks_state.read(_open_concerns)
    assert live == hooks_state.read(_pure(hooks_state, datetime.now(UTC)))
    assert len(live) == 2 * FAMILIES  # every child has a concern: a baby's, a sibling's
    with hooks_state.reader() as session:
        messages = sum(outbox_repo.counts_by_state(session).values())
        report = verify(session, hooks_state.audit_keys)
    assert report.ok and report.checked > 0, report.problem
    # Each message once (the receiver never failed, so no retry could repeat one).
    ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(ids) == messages and max(ids.values()) == 1
    # Every concern raised reached the agency (each names the GP practice's agency type).
    told = set().union(*(_focus(r.body) for r in received))
    assert told == hooks_state.read(_open_flag_ids)
