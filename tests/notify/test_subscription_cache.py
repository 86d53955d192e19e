"""The live subscriptions kept in memory (app/notify/live.py) behind the stamp the database's
triggers change: two app instances, each with its own engine on the same database (two API
processes), where one changes who is notified and the other's next write follows. A stale list
that misses an agency is a missed notification; one that keeps a revoked agency leaks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update

from app.main import create_app
from app.runtime import AppState, build_state
from app.services.access.clients import revoke_client
from app.store.auth_models import ApiClient
from app.store.webhook_models import AgencyBinding, WebhookMessage, WebhookSubscription
from tests.conftest import FIXED_NOW
from tests.notify.conftest import LOOPBACK
from tests.notify.kit import infant_in, registered_agency, subscribe, subscription

pytestmark = pytest.mark.own_connections("two engines on one database: two API processes")
ENDPOINT = "http://127.0.0.1:9/hook"  # never called: the tests look at the outbox


@pytest.fixture
def two(state: AppState, role_tokens: dict[str, str]) -> Iterator[tuple[TestClient, TestClient]]:
    """Two admin clients, each of an app with its own AppState and engine."""
    settings = state.settings.model_copy(update={"webhook_allowed_networks": LOOPBACK})
    a = dataclasses.replace(state, settings=settings)
    b = build_state(settings)
    b.clock = lambda: FIXED_NOW
    auth = {"Authorization": f"Bearer {role_tokens['admin']}"}
    try:
        with TestClient(create_app(state=a)) as ca, TestClient(create_app(state=b)) as cb:
            ca.headers.update(auth)
            cb.headers.update(auth)
            yield ca, cb
    finally:
        b.engine.dispose()


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.wnb  # type: ignore[attr-defined]
    return state


def _notified(client: TestClient, sub_id: str) -> int:
    """Event notifications written to the outbox for the subscription."""
    query = (
        select(func.count())
        .select_from(WebhookMessage)
        .join(WebhookSubscription, WebhookSubscription.pk == WebhookMessage.subscription_pk)
        .where(WebhookSubscription.id == sub_id, WebhookMessage.kind == "event-notification")
    )
    return int(_state(client).read(lambda s: s.scalar(query)))


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = _state(client).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_subscription_made_by_one_process_is_notified_by_the_others_next_write(
    two: tuple[TestClient, TestClient],
) -> None:
    a, b = two
    client_id, gp = registered_agency(_state(a), a)
    infant_in(b, "A81001")  # B's list: nobody subscribed (kept)
    created = subscribe(a, gp, subscription(ENDPOINT))
    infant_in(b, "A81001")
    assert _notified(a, created["id"]) == 1

    _state(a).write(lambda s: revoke_client(s, client_id, _state(a).clock()))
    infant_in(b, "A81001")
    assert _notified(a, created["id"]) == 1  # none added after the revocation


def test_a_client_revoked_or_rebound_behind_the_services_back_is_followed(
    two: tuple[TestClient, TestClient],
) -> None:
    """Changes made in SQL, not by the service: the triggers stamp them all the same."""
    a, b = two
    client_id, gp = registered_agency(_state(a), a, areas=("Z99999",))
    created = subscribe(a, gp, subscription(ENDPOINT))
    infant_in(b, "A81001")
    assert _notified(a, created["id"]) == 0  # not its area

    in_sql = update(AgencyBinding).where(AgencyBinding.client_id == client_id)
    for change, told in (
        (in_sql.values(areas="Z99999 A81001"), 1),
        (_subscription(created["id"]).values(status="off"), 1),  # switched off: nothing more
        (_subscription(created["id"]).values(status="active"), 2),
        (update(ApiClient).where(ApiClient.client_id == client_id).values(revoked_at=FIXED_NOW), 2),
    ):
        _state(a).write(lambda s, change=change: s.execute(change))
        infant_in(b, "A81001")
        assert _notified(a, created["id"]) == told, change


def _subscription(sub_id: str) -> Any:
    return update(WebhookSubscription).where(WebhookSubscription.id == sub_id)


def test_while_the_stamp_stands_no_write_reads_the_subscriptions(
    two: tuple[TestClient, TestClient],
) -> None:
    a, b = two
    _, gp = registered_agency(_state(a), a)
    created = subscribe(a, gp, subscription(ENDPOINT))
    infant_in(b, "A81001")  # B reads the list once, after the subscription's stamp
    with statements(b) as seen:
        infant_in(b, "A81001")
    assert _notified(a, created["id"]) == 2
    reads = [s for s in seen if s.startswith("SELECT") and "FROM subscription " in s]
    stamps = [s for s in seen if "FROM subscription_version" in s]
    assert (reads, len(stamps)) == ([], 1)
