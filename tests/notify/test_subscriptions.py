"""Registering a Subscription: topics, filters, payloads, secrets, bad input, ownership;
what each topic carries, in order, with event numbers."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from app.fhir.subscription_topics import TOPIC_CANONICAL_EXTENSION
from app.notify.dispatcher import Dispatcher
from app.runtime import AppState
from tests.factories import FHIR_JSON, appointment, created_id, post
from tests.notify.conftest import Subscribed
from tests.notify.kit import (
    FLAG_CHANGED,
    FLAG_RAISED,
    agency,
    infant_in,
    open_flag,
    subscribe,
    subscription,
)
from tests.notify.receiver import receiving

ENDPOINT = "http://127.0.0.1:9/hook"  # only registered here, never called


def test_the_capability_statement_advertises_the_topics(client: TestClient) -> None:
    body = client.get("/fhir/metadata").json()
    [entry] = [r for r in body["rest"][0]["resource"] if r["type"] == "Subscription"]
    topics = {
        e["valueCanonical"] for e in entry["extension"] if e["url"] == TOPIC_CANONICAL_EXTENSION
    }
    assert topics == {FLAG_RAISED, FLAG_CHANGED}


def _change(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    if value is None:
        node.pop(last)
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    "path, value, status, expression",
    [
        ("criteria", "Flag?status=active", 422, "Subscription.criteria"),
        ("status", "off", 422, "Subscription.status"),
        ("channel.type", "email", 422, "Subscription.channel.type"),
        ("channel.endpoint", "https://user:pw@example.org/h", 422, "Subscription.channel.endpoint"),
        ("channel.header", ["webhook-id: forged"], 422, "Subscription.channel.header[0]"),
        ("channel.header", ["no colon"], 422, "Subscription.channel.header[0]"),
        ("reason", None, 400, "Subscription.reason"),
        (
            "_criteria",
            {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria",
                        "valueString": "Flag?colour=red",
                    }
                ]
            },
            422,
            "Subscription._criteria.extension[0].valueString",
        ),
    ],
)
def test_bad_subscriptions_are_refused_saying_where(
    hooks_state: AppState,
    hooks_client: TestClient,
    path: str,
    value: Any,
    status: int,
    expression: str,
) -> None:
    gp = agency(hooks_state, hooks_client)
    data = _change(subscription(ENDPOINT), path, value)
    r = hooks_client.post("/fhir/Subscription", json=data, headers={**FHIR_JSON, **gp})
    assert r.status_code == status, r.text
    assert expression in [e for i in r.json()["issue"] for e in i.get("expression", [])]


@pytest.mark.parametrize(
    "kwargs, expression",
    [
        ({"filters": "Flag?area=Z99999"}, "Subscription._criteria"),  # outside its areas
        ({"filters": "Flag?rule=protected-child"}, "Subscription._criteria"),  # not hv's rule
        ({"filters": "Flag?rule=no-such-rule"}, "Subscription._criteria"),
        ({"payload": "full-resource"}, "Subscription.channel._payload"),  # not registered
        ({"secret": "not-a-secret"}, "Subscription.extension[0].valueString"),
        ({"secret": "whsec_c2hvcnQ="}, "Subscription.extension[0].valueString"),
    ],
)
def test_a_subscription_cannot_widen_the_agency_entitlement(
    hooks_state: AppState, hooks_client: TestClient, kwargs: dict[str, str], expression: str
) -> None:
    hv = agency(hooks_state, hooks_client, "health-visiting", ("A81001",))
    data = subscription(ENDPOINT, **kwargs)
    r = hooks_client.post("/fhir/Subscription", json=data, headers={**FHIR_JSON, **hv})
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["expression"] == [expression]


def test_only_agencies_subscribe_and_each_sees_only_its_own(
    hooks_state: AppState,
    hooks_client: TestClient,
    anonymous: TestClient,
    role_tokens: dict[str, str],
) -> None:
    r = hooks_client.post("/fhir/Subscription", json=subscription(ENDPOINT), headers=FHIR_JSON)
    assert r.status_code == 403  # an admin is not an agency
    nurse = {"Authorization": f"Bearer {role_tokens['nurse']}"}
    r = anonymous.post(
        "/fhir/Subscription", json=subscription(ENDPOINT), headers={**FHIR_JSON, **nurse}
    )
    assert r.status_code == 403
    a, b = agency(hooks_state, hooks_client), agency(hooks_state, hooks_client)
    sid = subscribe(hooks_client, a, subscription(ENDPOINT))["id"]
    for path in (
        f"/fhir/Subscription/{sid}",
        f"/fhir/Subscription/{sid}/$status",
        f"/api/subscriptions/{sid}/attempts",
    ):
        assert hooks_client.get(path, headers=b).status_code == 404, path
        assert hooks_client.get(path, headers=a).status_code == 200, path
    assert not hooks_client.get("/fhir/Subscription", headers=b).json()["entry"]
    assert len(hooks_client.get("/fhir/Subscription").json()["entry"]) == 1  # admin sees all


def _events(requests: list[Any]) -> list[tuple[int, str]]:
    """(event number, focus) of each event notification, in arrival order."""
    out = []
    for r in requests:
        params = orjson.loads(r.body)["entry"][0]["resource"]["parameter"]
        for p in params:
            if p["name"] == "notification-event":
                parts = {x["name"]: x for x in p["part"]}
                out.append(
                    (
                        int(parts["event-number"]["valueString"]),
                        parts["focus"]["valueReference"]["reference"].rsplit("/", 1)[-1],
                    )
                )
    return out


def test_one_childs_events_arrive_in_order_even_across_a_failure(
    hooks_client: TestClient, dispatcher: Dispatcher, subscribed: Subscribed
) -> None:
    gp, hook, sid = subscribed.headers, subscribed.hook, subscribed.id
    hook.answers = [500]
    pid = infant_in(hooks_client, "A81001", missed_on="2026-06-08")
    created_id(
        post(
            hooks_client,
            "Appointment",
            appointment(f"Patient/{pid}", start="2026-06-12T09:00:00Z"),
        )
    )
    for _ in range(40):
        dispatcher.drain()
        if len(hook.requests) >= 4:
            break
        time.sleep(0.03)
    events = _events(hook.received(4)[1:])
    assert [n for n, _ in events] == [1, 1, 2]  # the failed first, again, then the second
    status = hooks_client.get(f"/fhir/Subscription/{sid}/$status", headers=gp).json()
    params = {p["name"]: p for p in status["entry"][0]["resource"]["parameter"]}
    assert params["events-since-subscription-start"]["valueString"] == "2"
    assert params["status"]["valueCode"] == "active"


def test_closing_a_flag_is_a_flag_changed_event(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client)
    with receiving() as raised, receiving() as changed:
        subscribe(hooks_client, gp, subscription(raised.url, topic=FLAG_RAISED))
        subscribe(
            hooks_client,
            gp,
            subscription(changed.url, topic=FLAG_CHANGED, filters="Flag?priority=high"),
        )
        dispatcher.drain()
        flag = open_flag(hooks_client, infant_in(hooks_client, "A81001"))
        close = {"action": "close", "outcome": "no-further-action", "note": "Seen at home."}
        r = hooks_client.post(f"/api/flags/{flag}/review", json=close)
        assert r.status_code == 200, r.text
        dispatcher.drain()
        assert _events(raised.received(2)[1:]) == [(1, flag)]
        assert _events(changed.received(2)[1:]) == [(1, flag)]


def test_full_resource_for_an_agency_registered_for_it(
    hooks_state: AppState, hooks_client: TestClient, dispatcher: Dispatcher
) -> None:
    gp = agency(hooks_state, hooks_client, full_resource=True)
    with receiving() as hook:
        subscribe(
            hooks_client,
            gp,
            subscription(hook.url, payload="full-resource", headers=["Authorization: Bearer abc"]),
        )
        dispatcher.drain()
        flag = open_flag(hooks_client, infant_in(hooks_client, "A81001"))
        dispatcher.drain()
        event = hook.received(2)[1]
    entry = orjson.loads(event.body)["entry"][1]
    assert entry["resource"]["resourceType"] == "Flag" and entry["resource"]["id"] == flag
    assert entry["resource"]["meta"]["versionId"] == "1"
    assert event.headers["authorization"] == "Bearer abc"
