"""FHIR R4 Subscriptions Backport notification Bundles: type `history`, first entry the
SubscriptionStatus Parameters. `id-only` entries carry a reference and nothing else: no name,
NHS number or free text ever leaves in a notification; the agency fetches the Flag itself."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from app.fhir.dates import fhir_instant

STATUS_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-status-r4"
)
NOTIFICATION_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-notification-r4"
)


@dataclass(frozen=True)
class NotificationEvent:
    """One event in a notification: its number for the subscription, when, and the focus."""

    number: int
    at: datetime
    focus: str  # "Flag/id"


def status_parameters(
    base: str,
    subscription_id: str,
    topic: str,
    status: str,
    notification_type: str,
    events_since_start: int,
    events: Sequence[NotificationEvent] = (),
    error: str | None = None,
) -> dict[str, Any]:
    """A SubscriptionStatus (R4 backport Parameters). Numbers are strings in R4 (no int64)."""
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": _url(base, subscription_id)}},
        {"name": "topic", "valueCanonical": topic},
        {"name": "status", "valueCode": status},
        {"name": "type", "valueCode": notification_type},
        {"name": "events-since-subscription-start", "valueString": str(events_since_start)},
    ]
    for e in events:
        parameters.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(e.number)},
                    {"name": "timestamp", "valueInstant": fhir_instant(e.at)},
                    {"name": "focus", "valueReference": {"reference": f"{base}/{e.focus}"}},
                ],
            }
        )
    if error:
        parameters.append({"name": "error", "valueCodeableConcept": {"text": error}})
    return {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters,
    }


def notification_bundle(
    base: str,
    subscription_id: str,
    topic: str,
    notification_type: str,
    events_since_start: int,
    at: datetime,
    events: Sequence[NotificationEvent] = (),
    status_code: str = "active",
) -> dict[str, Any]:
    """The Bundle a subscriber receives (handshake, heartbeat, event-notification or the
    answer to `$events`). `status_code`: the subscription's status as the bundle states it."""
    status = status_parameters(
        base, subscription_id, topic, status_code, notification_type, events_since_start, events
    )
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{status['id']}",
            "resource": status,
            "request": {"method": "GET", "url": f"{_url(base, subscription_id)}/$status"},
            "response": {"status": "200"},
        }
    ]
    for e in events:
        entries.append(
            {
                "fullUrl": f"{base}/{e.focus}",
                "request": {"method": "PUT", "url": e.focus},
                "response": {"status": "200"},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [NOTIFICATION_PROFILE]},
        "type": "history",
        "timestamp": fhir_instant(at),
        "entry": entries,
    }


def status_bundle(base: str, status: dict[str, Any]) -> dict[str, Any]:
    """`$status` answers a searchset Bundle holding the SubscriptionStatus."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status['id']}",
                "resource": status,
                "search": {"mode": "match"},
            }
        ],
    }


def _url(base: str, subscription_id: str) -> str:
    return f"{base}/Subscription/{subscription_id}"


def events_of(body: str) -> list[NotificationEvent]:
    """The events a stored notification Bundle announced, as they were sent."""
    status = orjson.loads(body)["entry"][0]["resource"]
    out = []
    for p in status.get("parameter", []):
        if p["name"] != "notification-event":
            continue
        parts = {part["name"]: part for part in p["part"]}
        focus = parts["focus"]["valueReference"]["reference"]
        out.append(
            NotificationEvent(
                int(parts["event-number"]["valueString"]),
                datetime.fromisoformat(parts["timestamp"]["valueInstant"]),
                "/".join(focus.rsplit("/", 2)[-2:]),
            )
        )
    return out


def with_resources(body: str, resources: dict[str, str]) -> str:
    """A full-resource notification: each focus entry carries its resource (by fullUrl
    suffix "Flag/id"), as stored JSON."""
    bundle = orjson.loads(body)
    for entry in bundle["entry"][1:]:
        ref = "/".join(entry["fullUrl"].rsplit("/", 2)[-2:])
        if ref in resources:
            entry["resource"] = orjson.loads(resources[ref])
    return orjson.dumps(bundle).decode()
