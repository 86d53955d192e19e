"""Behind PgBouncer in transaction pooling mode (issue 21, defect 2): with server-side
prepares off, concurrent ingest and the worker's deliveries through the pooler answer no 5xx
and deliver every notification once; the worker LISTENs on a direct connection."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

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
    direct = hooks_state.settings.database_url
    if direct.startswith("sqlite"):
        pytest.skip("a pooler stands in front of PostgreSQL only")
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
