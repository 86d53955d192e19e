"""Rotating the signing secret (old and new both sign during the overlap) and resuming a
subscription in error with PUT."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from app.notify.dispatcher import Dispatcher
from app.notify.signing import new_secret
from app.runtime import AppState
from tests.factories import FHIR_JSON
from tests.notify.kit import agency, infant_in, subscribe, subscription
from tests.notify.receiver import receiving


def test_rotation_signs_with_both_secrets_during_the_overlap(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    # The tests' clock is fixed in the past; delivery signs on the wall clock.
    hooks_state.settings = hooks_state.settings.model_copy(
        update={"webhook_secret_overlap_hours": 24 * 3650}
    )
    gp = agency(hooks_state, hooks_client)
    old, new = new_secret(), new_secret()
    with receiving() as hook:
        sid = subscribe(hooks_client, gp, subscription(hook.url, secret=old))["id"]
        dispatcher.drain()
        r = hooks_client.put(
            f"/fhir/Subscription/{sid}",
            json={**subscription(hook.url, secret=new), "id": sid},
            headers={**FHIR_JSON, **gp},
        )
        assert r.status_code == 200, r.text
        assert new not in r.text and old not in r.text
        assert r.json()["status"] == "active"  # same endpoint: no new handshake
        infant_in(hooks_client, "A81001")
        dispatcher.drain()
        event = hook.received(2)[1]
    assert len(event.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(event.body, event.headers)
    Webhook(new).verify(event.body, event.headers)


def test_a_subscription_in_error_resumes_with_put_and_keeps_what_waited(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client)
    with receiving() as broken, receiving() as fixed:
        broken.default = 404
        sid = subscribe(hooks_client, gp, subscription(broken.url))["id"]
        dispatcher.drain()
        infant_in(hooks_client, "A81001")  # waits: the subscription is in error
        time.sleep(0.1)
        dispatcher.drain()
        assert len(broken.requests) == 1
        r = hooks_client.put(
            f"/fhir/Subscription/{sid}",
            json={**subscription(fixed.url), "id": sid},
            headers={**FHIR_JSON, **gp},
        )
        assert r.status_code == 200 and r.json()["status"] == "requested"
        dispatcher.drain()
        dispatcher.drain()
        kinds = [r.body.count(b'"event-notification"') for r in fixed.received(2)]
    assert kinds == [0, 1]  # a handshake, then the event that waited
    shown = hooks_client.get(f"/fhir/Subscription/{sid}", headers=gp).json()
    assert shown["status"] == "active" and "error" not in shown


def test_put_cannot_take_another_agencys_subscription(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    a, b = agency(hooks_state, hooks_client), agency(hooks_state, hooks_client)
    with receiving() as hook:
        sid = subscribe(hooks_client, a, subscription(hook.url))["id"]
        r = hooks_client.put(
            f"/fhir/Subscription/{sid}",
            json={**subscription(hook.url), "id": sid},
            headers={**FHIR_JSON, **b},
        )
    assert r.status_code == 404
