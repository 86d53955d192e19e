"""A slow but healthy receiver and two workers: a worker claims only what its idle delivery
threads can start, so no claimed message waits while its lease runs out and the other
worker never sends it a second time (issue 21, defect 1)."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient

from app.notify.outbox import enqueue_flag_events
from app.runtime import AppState
from tests.notify.conftest import make_dispatcher
from tests.notify.kit import agency, subscribe, subscription
from tests.notify.receiver import receiving
from tests.worker.kit import (
    assert_in_order_per_child,
    raised_events,
    running,
    wait_all_delivered,
)

pytestmark = pytest.mark.own_connections("concurrent dispatchers")

CHILDREN = 16
PER_CHILD = 2
ANSWER_SECONDS = 0.4
# A lease of 2 s (timeout + margin) is five answers long: one attempt fits it with room on a
# loaded machine, but the 16 first messages a worker could claim at once take 3.2 s on its
# two threads, so before the fix the tail of that batch outlived its lease.
TIMEOUT, MARGIN, THREADS = 1.5, 0.5, 2


def test_a_slow_receiver_gets_each_message_once_and_in_order_from_two_workers(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    gp = agency(hooks_state, hooks_client)
    count = CHILDREN * PER_CHILD
    workers = [
        make_dispatcher(
            hooks_state,
            timeout=TIMEOUT,
            lease_margin=MARGIN,
            concurrency=THREADS,
            batch=50,
            poll_seconds=0.05,
        )
        for _ in range(2)
    ]
    with receiving() as hook:
        subscribe(hooks_client, gp, subscription(hook.url))
        workers[0].drain()
        hook.received(1)
        hook.delay = ANSWER_SECONDS
        events = raised_events(count, CHILDREN)
        hooks_state.write(lambda s: enqueue_flag_events(s, events))
        with running(workers):
            wait_all_delivered(hooks_state, count + 1)
        # Every attempt settles before its message counts as delivered, and every attempt's
        # request reached the receiver before it was answered: nothing more can arrive.
        received = list(hook.requests[1:])
    ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(ids) == count
    assert [i for i, n in ids.items() if n > 1] == [], "messages delivered more than once"
    assert_in_order_per_child(received, CHILDREN)
