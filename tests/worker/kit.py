"""Outbox messages for many children, dispatchers running on threads, and the order check
the worker tests share."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import orjson

from app.notify import wake
from app.notify.dispatcher import Dispatcher
from app.notify.events import FlagEvent, ReasonFacts
from app.runtime import AppState
from app.store import outbox_repo
from tests.conftest import FIXED_NOW
from tests.notify.receiver import Received


def raised_events(count: int, children: int) -> list[FlagEvent]:
    """`count` raised flags, event i for child i % children: event numbers follow i."""
    return [
        FlagEvent(
            kind="raised",
            flag_id=str(uuid.uuid4()),
            flag_version=1,
            reasons=(ReasonFacts("infant-wnb", "high", ("gp",)),),
            priority="high",
            child_id=f"child-{i % children}",
            family_id=f"family-{i % children}",
            agencies=("gp",),
            areas=("A81001",),
            at=FIXED_NOW + timedelta(seconds=i),
        )
        for i in range(count)
    ]


@contextmanager
def running(workers: list[Dispatcher]) -> Iterator[None]:
    """Each dispatcher's delivery loop on a thread of its own; stopped and closed after."""
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        wake.wake()
        for t in threads:
            t.join(timeout=30)
        for w in workers:
            w.close()


def assert_in_order_per_child(received: list[Received], children: int) -> None:
    """Each child's notifications arrived in the order their events were made."""
    last: dict[int, int] = {}
    for r in received:
        params = orjson.loads(r.body)["entry"][0]["resource"]["parameter"]
        event = next(p for p in params if p["name"] == "notification-event")
        parts = {x["name"]: x for x in event["part"]}
        number = int(parts["event-number"]["valueString"])
        child = (number - 1) % children  # event n was made for child (n - 1) % children
        assert number > last.get(child, 0), "one child's events arrived out of order"
        last[child] = number


def wait_all_delivered(state: AppState, total: int) -> None:
    """Until the outbox holds `total` messages, all delivered. Every attempt settles before
    its message counts as delivered and reaches the receiver before it is answered, so after
    this no request is still on its way."""
    deadline = time.monotonic() + 120
    while True:
        with state.reader() as session:
            counts = outbox_repo.counts_by_state(session)
        if counts == {"delivered": total}:
            return
        assert time.monotonic() < deadline, f"not all delivered: {counts}"
        time.sleep(0.1)
