"""A JSON object holding a key twice is refused with 400 naming it (issue 20, item 6): orjson
would keep the last silently, so `"status": "noshow", ..., "status": "fulfilled"` would be
stored as attended. Every JSON body: FHIR resources, Bundles, Subscriptions, the nurse API
and the backtest. Nothing is stored. Both databases."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from app.fhir.duplicate_keys import duplicate_key_at
from app.runtime import AppState
from tests.dbcheck import count_resources
from tests.factories import FHIR_JSON, appointment, created_id, patient, post


def twice(data: dict[str, Any], key: str, first: Any) -> bytes:
    """`data` as JSON with `key` written twice in its top object: `first`, then its value."""
    body = orjson.dumps(data).decode()
    return ("{" + f'"{key}": {orjson.dumps(first).decode()}, ' + body[1:]).encode()


def refused_at(r: Any, where: str) -> None:
    assert r.status_code == 400, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["code"] == "structure" and issue["expression"] == [where], issue


def test_an_appointment_with_its_status_twice_is_refused(
    client: TestClient, state: AppState
) -> None:
    pid = created_id(post(client, "Patient", patient()))
    before = count_resources(state)
    body = twice(appointment(f"Patient/{pid}", status="fulfilled"), "status", "noshow")
    refused_at(client.post("/fhir/Appointment", content=body, headers=FHIR_JSON),
               "Appointment.status")
    assert count_resources(state) == before


def test_a_duplicate_deep_in_a_bundle_is_named(client: TestClient, state: AppState) -> None:
    entry = {"resource": patient(), "request": {"method": "POST", "url": "Patient"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry, dict(entry)]}
    text = orjson.dumps(bundle).decode()
    # The second entry's first name says its family twice, the second spelled with an escape.
    at = text.rindex('"family"')
    text = text[:at] + '"f\\u0061mily": "Jones", ' + text[at:]
    r = client.post("/fhir", content=text.encode(), headers=FHIR_JSON)
    refused_at(r, "Bundle.entry[1].resource.name[0].family")
    assert count_resources(state) == 0


def test_the_same_key_in_different_objects_is_not_a_duplicate(client: TestClient) -> None:
    # "status" at the top and in each participant, quotes and colons inside strings.
    pid = created_id(post(client, "Patient", patient()))
    data = appointment(f"Patient/{pid}", comment='he said "status": "noshow" {"a": 1}')
    assert post(client, "Appointment", data).status_code == 201


def test_a_subscription_and_a_review_body_are_checked_too(client: TestClient) -> None:
    sub = {"resourceType": "Subscription", "status": "requested", "reason": "x",
           "criteria": "https://wnb.dev/fhir/SubscriptionTopic/flag-raised",
           "channel": {"type": "rest-hook", "endpoint": "https://example.org/hook"}}
    r = client.post("/fhir/Subscription", content=twice(sub, "reason", "y"), headers=FHIR_JSON)
    refused_at(r, "Subscription.reason")
    r = client.post(
        "/api/flags/nope/review",
        content=b'{"action": "note", "note": "a", "note": "b"}',
        headers={"Content-Type": "application/json"},
    )
    refused_at(r, "body.note")
    r = client.post(
        "/api/rules/backtest",
        content=b'{"rules_yaml": "x", "limit": 1, "limit": 2}',
        headers={"Content-Type": "application/json"},
    )
    refused_at(r, "body.limit")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b'{"a": 1}', None),
        (b'{"a": {"b": 1, "c": {"b": 2}}, "b": [{"b": 1}, {"b": 2}]}', None),
        (b'{"a": "\\" : \\"a\\"", "b": 1}', None),
        (b'{"a": 1, "a": 1}', "R.a"),
        (b'{"x": [{"y": 1}, {"y": 1, "z": 2, "y": 3}]}', "R.x[1].y"),
        (b'{"\\u00e9": 1, "\xc3\xa9": 2}', "R.\u00e9"),
    ],
)
def test_duplicate_key_at(text: bytes, where: str | None) -> None:
    assert duplicate_key_at(text, "R") == where
