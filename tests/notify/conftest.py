"""A state whose webhooks may reach loopback over http, a dispatcher with a fast retry
schedule, delivering to real local HTTP receivers, and an agency already subscribed to one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.notify.dispatcher import DeliveryConfig, Dispatcher, wall_clock
from app.notify.retry import RetryPolicy
from app.notify.ssrf import parse_networks
from app.runtime import AppState
from tests.notify.kit import agency, subscribe, subscription
from tests.notify.receiver import Receiver, receiving

LOOPBACK = "127.0.0.0/8"
FAST = RetryPolicy((0, 0.05, 0.05, 0.05), jitter=0)


@pytest.fixture
def hooks_state(state: AppState) -> AppState:
    settings = state.settings.model_copy(update={"webhook_allowed_networks": LOOPBACK})
    return dataclasses.replace(state, settings=settings)


@pytest.fixture
def hooks_client(hooks_state: AppState, role_tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(state=hooks_state)) as c:
        c.headers["Authorization"] = f"Bearer {role_tokens['admin']}"
        yield c


def make_dispatcher(
    state: AppState, clock: Callable[[], datetime] = wall_clock, **config: object
) -> Dispatcher:
    values: dict[str, object] = {
        "allowed_networks": parse_networks(LOOPBACK),
        "timeout": 2.0,
        "policy": FAST,
        "lease_margin": 1.0,
        # One delivery thread: a test's sessions share one connection, one thread at a time.
        "concurrency": 1,
        **config,
    }
    return Dispatcher(
        state.writer,
        httpx.Client(follow_redirects=False),
        DeliveryConfig(**values),  # type: ignore[arg-type]
        clock=clock,
    )


@pytest.fixture
def dispatcher(hooks_state: AppState) -> Iterator[Dispatcher]:
    d = make_dispatcher(hooks_state)
    yield d
    d.close()


@dataclass(frozen=True)
class Subscribed:
    """An agency (its request headers) subscribed to a receiver that took the handshake."""

    headers: dict[str, str]
    hook: Receiver
    created: dict[str, Any]  # the Subscription as the create answered it

    @property
    def id(self) -> str:
        return str(self.created["id"])


@pytest.fixture
def subscribed(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> Iterator[Subscribed]:
    gp = agency(hooks_state, hooks_client)
    with receiving() as hook:
        created = subscribe(hooks_client, gp, subscription(hook.url))
        dispatcher.drain()
        hook.received(1)
        yield Subscribed(gp, hook, created)
