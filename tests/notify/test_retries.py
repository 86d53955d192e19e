"""Retries, dead letters, Retry-After, 410 Gone, a subscription in error, and replay."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from app.notify.dispatcher import Dispatcher, wall_clock
from app.notify.retry import DEFAULT_SCHEDULE, RetryPolicy, parse_schedule
from app.runtime import AppState
from tests.live_server import serve
from tests.notify.conftest import Subscribed, make_dispatcher
from tests.notify.kit import agency, infant_in, subscribe, subscription
from tests.notify.receiver import Receiver, receiving


def test_the_default_schedule() -> None:
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    policy = RetryPolicy()
    assert policy.delay_after(1, rng=lambda: 0.5) == 5
    assert policy.delay_after(9, rng=lambda: 0.5) == 86400
    assert policy.delay_after(10) is None  # ten attempts, then the dead-letter queue
    low, high = policy.delay_after(2, rng=lambda: 0.0), policy.delay_after(2, rng=lambda: 1.0)
    assert low == pytest.approx(270) and high == pytest.approx(330)  # jitter of 10%
    assert policy.delay_after(1, retry_after=120, rng=lambda: 0.5) == 120
    assert policy.delay_after(1, retry_after=10**9, rng=lambda: 0.5) == 86400
    with pytest.raises(ValueError):
        parse_schedule("0,five")


def _until(hook: Receiver, dispatcher: Dispatcher, count: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while len(hook.requests) < count and time.monotonic() < deadline:
        dispatcher.drain()
        time.sleep(0.03)


def attempts(client: TestClient, sid: str, auth: dict[str, str]) -> dict:
    r = client.get(f"/api/subscriptions/{sid}/attempts", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def test_failing_past_the_schedule_dead_letters_then_replay_sends_it_again(
    hooks_client: TestClient, dispatcher: Dispatcher, subscribed: Subscribed
) -> None:
    gp, hook, sid = subscribed.headers, subscribed.hook, subscribed.id
    hook.default = 500
    infant_in(hooks_client, "A81001")
    _until(hook, dispatcher, 5)
    time.sleep(0.1)
    dispatcher.drain()
    assert len(hook.requests) == 5  # four attempts in the test schedule, no fifth
    log = attempts(hooks_client, sid, gp)
    assert log["messages"] == {"delivered": 1, "dead": 1}
    dead = log["attempts"][0]["webhook_id"]

    hook.default = 200
    r = hooks_client.post(f"/api/subscriptions/{sid}/replay", json={"webhook_id": dead}, headers=gp)
    assert r.status_code == 200 and r.json() == {"queued": 1}
    dispatcher.drain()
    last = hook.received(6)[-1]
    assert last.headers["webhook-id"] == dead
    assert attempts(hooks_client, sid, gp)["messages"] == {"delivered": 2}


def test_replay_needs_one_of_webhook_id_or_since(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    gp = agency(hooks_state, hooks_client)
    with receiving() as hook:
        sid = subscribe(hooks_client, gp, subscription(hook.url))["id"]
    r = hooks_client.post(f"/api/subscriptions/{sid}/replay", json={}, headers=gp)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["body"]
    r = hooks_client.post(
        f"/api/subscriptions/{sid}/replay", json={"since": "2026-01-01T00:00:00Z"}, headers=gp
    )
    assert r.status_code == 200 and r.json() == {"queued": 0}


def test_retry_after_is_honoured(
    hooks_state: AppState, hooks_client: TestClient, subscribed: Subscribed
) -> None:
    hook = subscribed.hook
    hook.answers = [429]
    hook.headers = {"Retry-After": "1"}
    # The dispatcher's clock is moved, not slept through: on a loaded machine a sleep of
    # 0.3 s can outlast the receiver's whole second.
    now = [wall_clock()]
    clocked = make_dispatcher(hooks_state, lambda: now[0])
    try:
        infant_in(hooks_client, "A81001")
        clocked.drain()
        hook.received(2)
        hook.headers = {}
        now[0] += timedelta(seconds=0.3)  # past the schedule's 0.05 s, short of the 1 s asked
        clocked.drain()
        assert len(hook.requests) == 2
        now[0] += timedelta(seconds=0.9)
        clocked.drain()
        hook.received(3)
    finally:
        clocked.close()


def test_410_gone_switches_the_subscription_off(
    hooks_client: TestClient, dispatcher: Dispatcher, subscribed: Subscribed
) -> None:
    gp, hook, sid = subscribed.headers, subscribed.hook, subscribed.id
    hook.answers = [410]
    infant_in(hooks_client, "A81001")
    _until(hook, dispatcher, 2)
    time.sleep(0.1)
    dispatcher.drain()
    assert len(hook.requests) == 2
    shown = hooks_client.get(f"/fhir/Subscription/{sid}", headers=gp).json()
    assert shown["status"] == "off" and "410" in shown["error"]


def test_consecutive_failures_put_the_subscription_in_error(
    hooks_state: AppState, hooks_client: TestClient, subscribed: Subscribed
) -> None:
    gp, hook, sid = subscribed.headers, subscribed.hook, subscribed.id
    strict = make_dispatcher(hooks_state, failures_before_error=2)
    try:
        hook.default = 503
        infant_in(hooks_client, "A81001")
        _until(hook, strict, 3)
        time.sleep(0.1)
        strict.drain()
        assert len(hook.requests) == 3  # in error: no more attempts
    finally:
        strict.close()
    status = hooks_client.get(f"/fhir/Subscription/{sid}/$status", headers=gp).json()
    params = {p["name"]: p for p in status["entry"][0]["resource"]["parameter"]}
    assert params["status"]["valueCode"] == "error"
    assert "HTTP 503" in params["error"]["valueCodeableConcept"]["text"]
    assert params["type"]["valueCode"] == "query-status"


def test_a_failed_handshake_leaves_the_subscription_in_error(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client)
    with receiving() as hook:
        hook.default = 401
        sid = subscribe(hooks_client, gp, subscription(hook.url))["id"]
        dispatcher.drain()
        infant_in(hooks_client, "A81001")
        time.sleep(0.1)
        dispatcher.drain()
        assert len(hook.requests) == 1
    shown = hooks_client.get(f"/fhir/Subscription/{sid}", headers=gp).json()
    assert shown["status"] == "error" and shown["error"] == "handshake failed: HTTP 401"


def test_admins_see_delivery_progress_across_subscriptions(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client)
    with receiving() as hook:
        subscribe(hooks_client, gp, subscription(hook.url))
        infant_in(hooks_client, "A81001")
        before = hooks_client.get("/api/subscriptions").json()
        dispatcher.drain()
        dispatcher.drain()
        after = hooks_client.get("/api/subscriptions").json()
    assert before["messages"] == {"pending": 2} and before["oldest_pending_seconds"] > 0
    assert after == {
        "messages": {"delivered": 2},
        "oldest_pending_seconds": None,
        "subscriptions": {"active": 1},
    }
    assert hooks_client.get("/api/subscriptions", headers=gp).status_code == 403


@pytest.mark.own_connections("a real server")
def test_metrics_count_the_outbox(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client)
    with receiving() as hook, serve(hooks_state) as base, httpx.Client(base_url=base) as http:
        subscribe(hooks_client, gp, subscription(hook.url))
        text = http.get("/metrics").text
        assert 'wnb_webhook_messages{state="pending"} 1.0' in text
        dispatcher.drain()
        text = http.get("/metrics").text
    assert 'wnb_webhook_messages{state="delivered"} 1.0' in text
    assert 'wnb_webhook_messages{state="pending"} 0.0' in text
    assert "wnb_webhook_lag_seconds 0.0" in text


def test_replay_since_resends_undelivered_only_unless_asked(
    hooks_client: TestClient, dispatcher: Dispatcher, subscribed: Subscribed
) -> None:
    gp, hook, sid = subscribed.headers, subscribed.hook, subscribed.id
    infant_in(hooks_client, "A81001")
    dispatcher.drain()
    [_, sent] = hook.received(2)
    url = f"/api/subscriptions/{sid}/replay"
    since = "2000-01-01T00:00:00Z"
    r = hooks_client.post(url, json={"since": since}, headers=gp)
    assert r.status_code == 200 and r.json() == {"queued": 0}  # it was delivered
    r = hooks_client.post(url, json={"since": since, "include_delivered": True}, headers=gp)
    assert r.status_code == 200 and r.json() == {"queued": 1}
    dispatcher.drain()
    assert hook.received(3)[-1].headers["webhook-id"] == sent.headers["webhook-id"]
