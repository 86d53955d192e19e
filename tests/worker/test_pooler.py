"""Behind PgBouncer in transaction pooling mode (issue 21, defect 2): with server-side
prepares off, concurrent ingest and the worker's deliveries through the pooler answer no 5xx
and deliver every notification once; the worker LISTENs on a direct connection and wakes
when another process commits."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.runtime import AppState, build_state
from app.worker.deliveries import Deliveries
from tests.conftest import FIXED_NOW, settings_for
from tests.live_server import serve
from tests.notify.conftest import LOOPBACK
from tests.notify.kit import agency, infant_in, subscribe, subscription
from tests.notify.receiver import receiving
from tests.pgbouncer import pgbouncer
from tests.worker.kit import wait_all_delivered

pytestmark = pytest.mark.own_connections("a pooler, a live server and a worker")

INFANTS = 40


def test_ingest_and_deliveries_through_pgbouncer_in_transaction_mode(
    hooks_state: AppState, hooks_client: TestClient, role_tokens: dict[str, str]
) -> None:
    direct = _postgres_url(hooks_state)
    gp = agency(hooks_state, hooks_client)
    with pgbouncer(direct) as pooled_url, receiving() as hook:
        pooled = build_state(
            settings_for(
                pooled_url,
                db_prepared_statements=False,
                # Few client connections, each used often: psycopg would prepare a statement
                # on its fifth run, and the pooler hands it to another server connection.
                db_pool_size=3,
                db_listen_url=direct,
                webhook_allowed_networks=LOOPBACK,
                webhook_poll_seconds=0.2,
                webhook_timeout_seconds=5,
            )
        )
        pooled.clock = lambda: FIXED_NOW
        subscribe(hooks_client, gp, subscription(hook.url))
        deliveries = Deliveries(pooled)
        deliveries.start()
        try:
            auth = {"Authorization": f"Bearer {role_tokens['admin']}"}
            # Two at a time on three client connections: each connection runs the same
            # statements often, as psycopg's prepares need to show.
            with (
                serve(pooled) as base,
                httpx.Client(base_url=base, headers=auth, timeout=60) as http,
                ThreadPoolExecutor(2) as pool,
            ):
                made = list(pool.map(lambda _: infant_in(http, "A81001"), range(INFANTS)))
            wait_all_delivered(pooled, INFANTS + 1)
            received = list(hook.requests)
        finally:
            deliveries.stop()
            pooled.engine.dispose()
    assert len(set(made)) == INFANTS  # infant_in asserts each POST answered 201
    ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(ids) == INFANTS + 1 and max(ids.values()) == 1


# Another process commits an outbox row: only its pg_notify can wake this process's worker.
ENQUEUE = """
import sys
from app.notify.outbox import enqueue_flag_events
from app.runtime import build_state
from tests.conftest import settings_for
from tests.worker.kit import raised_events
state = build_state(settings_for(sys.argv[1]))
state.write(lambda s: enqueue_flag_events(s, raised_events(1, 1)))
"""


def test_the_worker_listens_on_its_direct_url_and_wakes_at_once(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    direct = _postgres_url(hooks_state)
    gp = agency(hooks_state, hooks_client)
    with pgbouncer(direct) as pooled_url, receiving() as hook:
        subscribe(hooks_client, gp, subscription(hook.url))
        pooled = build_state(
            settings_for(
                pooled_url,
                db_prepared_statements=False,
                db_listen_url=direct,
                webhook_allowed_networks=LOOPBACK,
                # Far longer than the wait below: only a notification can wake the worker.
                webhook_poll_seconds=600,
            )
        )
        deliveries = Deliveries(pooled)
        deliveries.start()
        try:
            hook.received(1, timeout=60)  # the handshake, found by the first look
            _wait_listening(direct)
            subprocess.run([sys.executable, "-c", ENQUEUE, direct], check=True, timeout=120)
            hook.received(2, timeout=60)
        finally:
            deliveries.stop()
            pooled.engine.dispose()
        # Stopped for good, though the poll is 600 s: the LISTEN wait is cut short to look.
        assert not [t.name for t in deliveries._threads if t.is_alive()]


def _wait_listening(direct: str) -> None:
    """Until a backend of the test database LISTENs on the outbox channel (through a
    transaction pooler the LISTEN never holds a backend, and this fails)."""
    engine = create_engine(direct)
    try:
        for _ in range(600):
            with engine.connect() as conn:
                found = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND query LIKE 'LISTEN %'"
                    )
                )
            if found:
                return
            time.sleep(0.1)
        raise AssertionError("the worker never listened")
    finally:
        engine.dispose()


def _postgres_url(state: AppState) -> str:
    url = state.settings.database_url
    if url.startswith("sqlite"):
        pytest.skip("a pooler stands in front of PostgreSQL only")
    return url
