"""Subscriptions Backport IG: the handshake's status, heartbeatPeriod, the profiles named, and
`$events` to re-fetch events after a gap."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from app.fhir.subscription_topics import (
    IMPLEMENTATION_GUIDE,
    SERVER_CAPABILITIES,
    SUBSCRIPTION_PROFILE,
)
from app.runtime import AppState
from tests.factories import FHIR_JSON
from tests.notify.conftest import Subscribed
from tests.notify.kit import agency, infant_in, open_flag, subscription

HEARTBEAT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period"
)


def _status(bundle: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}


def _numbers(bundle: dict[str, Any]) -> list[tuple[int, str]]:
    out = []
    for p in bundle["entry"][0]["resource"]["parameter"]:
        if p["name"] == "notification-event":
            parts = {x["name"]: x for x in p["part"]}
            ref = parts["focus"]["valueReference"]["reference"]
            out.append((int(parts["event-number"]["valueString"]), ref.rsplit("/", 1)[-1]))
    return out


def test_the_handshake_states_requested(subscribed: Subscribed) -> None:
    [handshake] = subscribed.hook.requests[:1]
    status = _status(orjson.loads(handshake.body))
    assert status["type"]["valueCode"] == "handshake"
    assert status["status"]["valueCode"] == "requested"


def test_heartbeat_period_is_refused_not_echoed(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    gp = agency(hooks_state, hooks_client)
    data = subscription("http://127.0.0.1:9/hooks")
    data["channel"]["extension"] = [{"url": HEARTBEAT, "valueUnsignedInt": 60}]
    r = hooks_client.post("/fhir/Subscription", json=data, headers={**FHIR_JSON, **gp})
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["expression"] == ["Subscription.channel.extension[0]"]
    assert not hooks_client.get("/fhir/Subscription", headers=gp).json().get("entry")


def test_the_backport_profiles_are_named(hooks_client: TestClient, subscribed: Subscribed) -> None:
    read = hooks_client.get(f"/fhir/Subscription/{subscribed.id}", headers=subscribed.headers)
    assert read.json()["meta"]["profile"] == [SUBSCRIPTION_PROFILE]
    assert subscribed.created["meta"]["profile"] == [SUBSCRIPTION_PROFILE]
    statement = hooks_client.get("/fhir/metadata").json()
    assert statement["instantiates"] == [SERVER_CAPABILITIES]
    assert statement["implementationGuide"] == [IMPLEMENTATION_GUIDE]
    [sub] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Subscription"]
    assert sub["supportedProfile"] == [SUBSCRIPTION_PROFILE]
    assert "events" in {op["name"] for op in sub["operation"]}


def test_events_are_fetched_again_by_number(
    hooks_state: AppState, hooks_client: TestClient, subscribed: Subscribed
) -> None:
    flags = [open_flag(hooks_client, infant_in(hooks_client, "A81001")) for _ in range(3)]
    path = f"/fhir/Subscription/{subscribed.id}/$events"
    r = hooks_client.get(
        path,
        params={"eventsSinceNumber": 2, "eventsUntilNumber": 3},
        headers=subscribed.headers,
    )
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["type"] == "history"
    status = _status(bundle)
    assert status["type"]["valueCode"] == "query-event"
    assert status["events-since-subscription-start"]["valueString"] == "3"
    assert _numbers(bundle) == [(2, flags[1]), (3, flags[2])]
    assert all("resource" not in e for e in bundle["entry"][1:])  # id-only, always
    every = hooks_client.get(path, headers=subscribed.headers).json()
    assert [n for n, _ in _numbers(every)] == [1, 2, 3]
    # Another agency's token finds no such subscription.
    other = agency(hooks_state, hooks_client)
    assert hooks_client.get(path, headers=other).status_code == 404


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"eventsSinceNumber": "two"}, "eventsSinceNumber"),
        ({"eventsSinceNumber": "0"}, "eventsSinceNumber"),
        ({"eventsUntilNumber": "9" * 19}, "eventsUntilNumber"),
        ({"eventsSinceNumber": "3", "eventsUntilNumber": "2"}, "eventsUntilNumber"),
        ({"content": "full-resource"}, "content"),
        ({"since": "1"}, "since"),
    ],
)
def test_bad_events_queries_name_the_parameter(
    hooks_client: TestClient, subscribed: Subscribed, params: dict[str, str], where: str
) -> None:
    r = hooks_client.get(
        f"/fhir/Subscription/{subscribed.id}/$events", params=params, headers=subscribed.headers
    )
    assert r.status_code == 400, r.text
    assert r.json()["issue"][0]["expression"] == [where]
