"""Workers: one killed mid-delivery and restarted loses nothing (the lease runs out, the same
webhook-id is sent again); two at once never deliver one message twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.notify.outbox import enqueue_flag_events
from app.runtime import AppState
from tests.notify.conftest import LOOPBACK, make_dispatcher
from tests.notify.kit import agency, infant_in, subscribe, subscription
from tests.notify.receiver import receiving
from tests.worker.kit import assert_in_order_per_child, raised_events, running

# A new worker process starts, and waits out the dead one's lease, on a machine that may be
# loaded: a deadline, not a timing.
DEADLINE = 120.0

pytestmark = pytest.mark.own_connections("worker processes and concurrent dispatchers")


def _worker(state: AppState, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WNB_DATABASE_URL": state.settings.database_url,
        "WNB_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
        "WNB_WEBHOOK_TIMEOUT_SECONDS": "2",
        "WNB_WEBHOOK_LEASE_MARGIN_SECONDS": "1",
        "WNB_WEBHOOK_POLL_SECONDS": "0.2",
        "WNB_WEBHOOK_RETRY_SCHEDULE": "0,0.1,0.1,0.1",
        "WNB_DUE_CHECK_SECONDS": "3600",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=env, stdout=out, stderr=out
        )


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(timeout=20)


def test_a_worker_killed_mid_delivery_is_replaced_and_nothing_is_lost(
    hooks_state: AppState, hooks_client: TestClient, tmp_path: Path
) -> None:
    gp = agency(hooks_state, hooks_client)
    dispatcher = make_dispatcher(hooks_state)
    log = tmp_path / "worker.log"
    with receiving() as hook:
        sid = subscribe(hooks_client, gp, subscription(hook.url))["id"]
        dispatcher.drain()
        dispatcher.close()
        hook.received(1)
        held = threading.Event()
        hook.hang = held  # the receiver holds the next request open
        infant_in(hooks_client, "A81001")
        first = _worker(hooks_state, log)
        try:
            in_flight = hook.received(2, timeout=DEADLINE)[1]
        finally:
            _stop(first, signal.SIGKILL)  # dies with the request in flight
        hook.hang = None
        held.set()
        second = _worker(hooks_state, log)
        try:
            again = hook.received(3, timeout=DEADLINE)[2]
            log_json = _wait_delivered(hooks_client, sid, gp)
        finally:
            _stop(second)
    assert again.headers["webhook-id"] == in_flight.headers["webhook-id"]
    assert again.body == in_flight.body
    assert log_json["messages"] == {"delivered": 2}, log.read_text()[-2000:]


def _wait_delivered(client: TestClient, sid: str, auth: dict[str, str]) -> dict:
    deadline = time.monotonic() + 15
    while True:
        body = client.get(f"/api/subscriptions/{sid}/attempts", headers=auth).json()
        if body["messages"].get("pending", 0) == 0 or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_two_workers_never_deliver_one_message_twice(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    gp = agency(hooks_state, hooks_client)
    count = 40
    workers = [make_dispatcher(hooks_state, concurrency=4, batch=5) for _ in range(2)]
    with receiving() as hook:
        subscribe(hooks_client, gp, subscription(hook.url))
        workers[0].drain()
        hook.received(1)
        # Ten children, four events each: order matters too.
        events = raised_events(count, children=10)
        hooks_state.write(lambda s: enqueue_flag_events(s, events))
        with running(workers):
            hook.received(count + 1, timeout=60)
            time.sleep(0.5)  # a duplicate, if any, would arrive now
        received = list(hook.requests[1:])
    ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(ids) == count and max(ids.values()) == 1
    assert_in_order_per_child(received, children=10)
