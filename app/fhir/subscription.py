"""A FHIR R4 Subscription with the Subscriptions Backport extensions, checked and reduced to
what the service needs. Every refusal names where (`expression`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from app.fhir.errors import FhirError
from app.fhir.parse import validate_structure
from app.fhir.priority import PRIORITY_RANK
from app.fhir.subscription_topics import TOPICS

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
FILTER_CRITERIA = f"{BACKPORT}/backport-filter-criteria"
PAYLOAD_CONTENT = f"{BACKPORT}/backport-payload-content"
HEARTBEAT_PERIOD = f"{BACKPORT}/backport-heartbeat-period"
SECRET_EXTENSION = "https://medplum.com/fhir/StructureDefinition/subscription-secret"
PAYLOADS = ("id-only", "full-resource")
FILTERS = ("rule", "priority", "area")
PRIORITIES = tuple(PRIORITY_RANK)  # high, medium, low
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# Headers the service sets itself: a subscriber may not replace them.
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "user-agent", "transfer-encoding", "connection"}
)


@dataclass(frozen=True)
class SubscriptionSpec:
    topic: str
    endpoint: str
    payload: str = "id-only"
    filters: dict[str, list[str]] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    secret: str | None = None
    secret_at: str | None = None  # where the secret was given, for error messages


def parse_subscription(data: dict[str, Any]) -> SubscriptionSpec:
    """Check a Subscription (R4 + backport) and return what it asks for."""
    validate_structure(data, "Subscription")
    if data.get("status") not in ("requested", "active"):
        raise _bad("Subscription.status", "A new Subscription has status 'requested'.")
    topic = data.get("criteria")
    if topic not in TOPICS:
        raise _bad(
            "Subscription.criteria",
            f"criteria must be a topic this server offers: {', '.join(TOPICS)}.",
        )
    channel = data.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise _bad("Subscription.channel.type", "Only channel type rest-hook is supported.")
    endpoint = channel.get("endpoint")
    if not endpoint:
        raise _bad("Subscription.channel.endpoint", "A rest-hook needs an https endpoint.")
    if channel.get("payload", "application/fhir+json") not in ("application/fhir+json",):
        raise _bad("Subscription.channel.payload", "The payload type is application/fhir+json.")
    _no_heartbeat(channel)
    secret, secret_at = _secret(data)
    return SubscriptionSpec(
        topic=topic,
        endpoint=endpoint,
        payload=_payload(channel),
        filters=_filters(data),
        headers=_headers(channel),
        secret=secret,
        secret_at=secret_at,
    )


def without_secret(data: dict[str, Any]) -> dict[str, Any]:
    """The Subscription with the signing secret taken out (what is stored and shown)."""
    out = dict(data)
    kept = [e for e in data.get("extension", []) if e.get("url") != SECRET_EXTENSION]
    if kept:
        out["extension"] = kept
    else:
        out.pop("extension", None)
    return out


def with_secret(data: dict[str, Any], secret: str) -> dict[str, Any]:
    """The Subscription carrying the secret: the create response only."""
    extension = [*data.get("extension", []), {"url": SECRET_EXTENSION, "valueString": secret}]
    return {**data, "extension": extension}


def _secret(data: dict[str, Any]) -> tuple[str | None, str | None]:
    for i, ext in enumerate(data.get("extension", [])):
        if ext.get("url") == SECRET_EXTENSION:
            where = f"Subscription.extension[{i}].valueString"
            value = ext.get("valueString")
            if not isinstance(value, str) or not value:
                raise _bad(where, "The subscription secret needs a valueString.")
            return value, where
    return None, None


def _payload(channel: dict[str, Any]) -> str:
    for i, ext in enumerate((channel.get("_payload") or {}).get("extension", [])):
        if ext.get("url") == PAYLOAD_CONTENT:
            code = ext.get("valueCode")
            if code not in PAYLOADS:
                raise _bad(
                    f"Subscription.channel._payload.extension[{i}].valueCode",
                    f"Payload content must be one of {', '.join(PAYLOADS)}.",
                )
            return str(code)
    return "id-only"


def _filters(data: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for i, ext in enumerate((data.get("_criteria") or {}).get("extension", [])):
        if ext.get("url") != FILTER_CRITERIA:
            continue
        where = f"Subscription._criteria.extension[{i}].valueString"
        text = ext.get("valueString") or ""
        resource, _, query = text.rpartition("?")
        if resource not in ("", "Flag") or not query:
            raise _bad(where, "A filter reads Flag?rule=ID&priority=high&area=CODE.")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name not in FILTERS or not value:
                raise _bad(where, f"Filter on {', '.join(FILTERS)} with a value each.")
            values = {v.strip() for v in value.split(",") if v.strip()}
            if name == "priority" and not values <= set(PRIORITIES):
                raise _bad(where, f"priority is one of {', '.join(PRIORITIES)}.")
            found.setdefault(name, set()).update(values)
    return {name: sorted(values) for name, values in found.items()}


def _no_heartbeat(channel: dict[str, Any]) -> None:
    # No heartbeat notifications are sent: accepting the period would promise them, and a
    # subscriber would take their absence for a dead channel.
    for i, ext in enumerate(channel.get("extension", [])):
        if ext.get("url") == HEARTBEAT_PERIOD:
            raise _bad(
                f"Subscription.channel.extension[{i}]",
                "Heartbeat notifications are not sent: leave out backport-heartbeat-period "
                "and use $status or $events to check the channel.",
            )


def _headers(channel: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for i, line in enumerate(channel.get("header", [])):
        name, colon, value = str(line).partition(":")
        name = name.strip()
        where = f"Subscription.channel.header[{i}]"
        if not colon or not _HEADER_NAME.match(name) or "\n" in value or "\r" in value:
            raise _bad(where, "A header reads 'Name: value'.")
        if name.lower() in RESERVED_HEADERS or name.lower().startswith("webhook-"):
            raise _bad(where, f"The header {name} is set by the server.")
        out.append(f"{name}: {value.strip()}")
    return out


def _bad(where: str, message: str) -> FhirError:
    return FhirError.one(422, "business-rule", message, where)
