"""What waits for a subscription in `error` is bounded (issue 20, item 6): beyond
WNB_WEBHOOK_ERROR_BACKLOG messages, or after WNB_WEBHOOK_ERROR_BACKLOG_HOURS, the oldest are
expired (dead, never sent), while `$events` still serves them by number. Other
subscriptions' messages are untouched. Both databases."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import AppState
from app.store.webhook_models import WebhookMessage, WebhookSubscription
from app.worker.jobs import bound_error_backlogs
from tests.notify.conftest import Subscribed, make_dispatcher
from tests.notify.kit import agency, infant_in, subscribe, subscription


def states(state: AppState, sub_id: str) -> list[tuple[int | None, str, str | None]]:
    """The subscription's messages: event number, state and last error, oldest first."""

    def read(s: object) -> list[tuple[int | None, str, str | None]]:
        rows = s.execute(  # type: ignore[attr-defined]
            select(WebhookMessage.event_number, WebhookMessage.state, WebhookMessage.last_error)
            .join(WebhookSubscription, WebhookSubscription.pk == WebhookMessage.subscription_pk)
            .where(WebhookSubscription.id == sub_id, WebhookMessage.kind != "handshake")
            .order_by(WebhookMessage.pk)
        )
        return [tuple(r) for r in rows]

    return state.read(read)


def test_the_backlog_of_a_subscription_in_error_is_capped_then_expired(
    hooks_state: AppState, hooks_client: TestClient, subscribed: Subscribed
) -> None:
    strict = make_dispatcher(hooks_state, failures_before_error=1)
    try:
        subscribed.hook.default = 503
        infant_in(hooks_client, "A81001")
        strict.drain()  # one failure: the subscription is in error, the message waits
    finally:
        strict.close()
    waiting = agency(hooks_state, hooks_client, "health-visiting")
    other = subscribe(hooks_client, waiting, subscription("http://127.0.0.1:9/never"))
    for _ in range(4):
        infant_in(hooks_client, "A81001")
    assert [s for _, s, _ in states(hooks_state, subscribed.id)] == ["pending"] * 5
    assert [s for _, s, _ in states(hooks_state, other["id"])] == ["pending"] * 4

    capped = dataclasses.replace(
        hooks_state,
        settings=hooks_state.settings.model_copy(update={"webhook_error_backlog": 2}),
    )
    assert bound_error_backlogs(capped) == 3
    assert bound_error_backlogs(capped) == 0  # a second pass finds nothing more
    shown = states(hooks_state, subscribed.id)
    assert [(n, s) for n, s, _ in shown] == [
        (1, "dead"), (2, "dead"), (3, "dead"), (4, "pending"), (5, "pending")
    ]
    assert all("over 2 messages waiting" in (e or "") for _, s, e in shown if s == "dead")
    assert [s for _, s, _ in states(hooks_state, other["id"])] == ["pending"] * 4

    # The expired are still there for the agency to fetch by number.
    events = hooks_client.get(
        f"/fhir/Subscription/{subscribed.id}/$events", headers=subscribed.headers
    ).json()
    assert len(events["entry"]) == 1 + 5  # the status, then every event

    later = hooks_state.clock() + timedelta(hours=73)
    aged = dataclasses.replace(hooks_state, clock=lambda: later)
    assert bound_error_backlogs(aged) == 2
    assert [s for _, s, _ in states(hooks_state, subscribed.id)] == ["dead"] * 5
    assert [s for _, s, _ in states(hooks_state, other["id"])] == ["pending"] * 4
