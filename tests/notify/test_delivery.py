"""Ingest -> flag -> signed notification, end to end, to a real HTTP receiver."""

from __future__ import annotations

import time

import orjson
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook, WebhookVerificationError

from app.notify.dispatcher import Dispatcher
from app.notify.signing import new_secret
from app.runtime import AppState
from tests.notify.conftest import Subscribed
from tests.notify.kit import agency, infant_in, open_flag, secret_of, subscribe, subscription
from tests.notify.receiver import receiving


def test_a_raised_flag_reaches_the_agency_signed_id_only(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client, "gp", ("A81001",))
    with receiving() as hook:
        created = subscribe(hooks_client, gp, subscription(hook.url))
        secret = secret_of(created)
        assert secret.startswith("whsec_")
        assert created["status"] == "requested"
        dispatcher.drain()
        [handshake] = hook.received(1)
        status = hooks_client.get(f"/fhir/Subscription/{created['id']}", headers=gp).json()
        assert status["status"] == "active"

        pid = infant_in(hooks_client, "A81001")
        flag_id = open_flag(hooks_client, pid)
        dispatcher.drain()
        [_, event] = hook.received(2)

    verifier = Webhook(secret)
    for request in (handshake, event):
        verifier.verify(request.body, request.headers)  # raises unless signed with the secret
        assert request.headers["webhook-id"].startswith("msg_")
        assert request.headers["content-type"] == "application/fhir+json"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(event.body, event.headers)
    assert orjson.loads(handshake.body)["entry"][0]["resource"]["parameter"][3] == {
        "name": "type",
        "valueCode": "handshake",
    }
    bundle = orjson.loads(event.body)
    assert bundle["type"] == "history"
    status_params = bundle["entry"][0]["resource"]
    assert status_params["resourceType"] == "Parameters"
    by_name = {p["name"]: p for p in status_params["parameter"]}
    assert by_name["type"]["valueCode"] == "event-notification"
    assert by_name["events-since-subscription-start"]["valueString"] == "1"
    parts = {p["name"]: p for p in by_name["notification-event"]["part"]}
    assert parts["event-number"]["valueString"] == "1"
    assert parts["focus"]["valueReference"]["reference"].endswith(f"/Flag/{flag_id}")
    # id-only: the Flag entry is a reference, nothing about the child travels
    assert "resource" not in bundle["entry"][1]
    assert bundle["entry"][1]["fullUrl"].endswith(f"/Flag/{flag_id}")
    text = event.body.decode()
    assert pid not in text and "Smith" not in text and "2026-01-10" not in text


def test_the_secret_is_shown_once(hooks_state: AppState, hooks_client: TestClient) -> None:
    gp = agency(hooks_state, hooks_client)
    chosen = new_secret()
    with receiving() as hook:
        created = subscribe(hooks_client, gp, subscription(hook.url, secret=chosen))
    assert secret_of(created) == chosen
    sid = created["id"]
    for path in (
        f"/fhir/Subscription/{sid}",
        "/fhir/Subscription",
        f"/fhir/Subscription/{sid}/$status",
    ):
        r = hooks_client.get(path, headers=gp)
        assert r.status_code == 200, r.text
        assert chosen not in r.text and "whsec_" not in r.text
    trail = hooks_client.get("/fhir/AuditEvent", params={"entity": f"Subscription/{sid}"})
    assert trail.status_code == 200 and trail.json()["entry"]
    assert chosen not in trail.text


def test_receiver_down_then_up_loses_nothing_and_keeps_the_webhook_id(
    hooks_client: TestClient, dispatcher: Dispatcher, subscribed: Subscribed
) -> None:
    gp, hook, created = subscribed.headers, subscribed.hook, subscribed.created
    hook.answers = [503, 500]  # down twice, then up
    infant_in(hooks_client, "A81001")
    deadline = time.monotonic() + 10
    while len(hook.requests) < 4 and time.monotonic() < deadline:
        dispatcher.drain()
        time.sleep(0.05)
    tries = hook.received(4)[1:]
    assert len({t.headers["webhook-id"] for t in tries}) == 1
    assert [t.body for t in tries] == [tries[0].body] * 3
    log = hooks_client.get(f"/api/subscriptions/{created['id']}/attempts", headers=gp).json()
    assert [a["status_code"] for a in log["attempts"]][:3] == [200, 500, 503]
    assert log["messages"] == {"delivered": 2}
