"""Agencies' Subscriptions: create (with its handshake), read, list, `$status`. The signing
secret leaves the service once, in the create response, and never again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.dates import fhir_instant
from app.fhir.errors import FhirError
from app.fhir.subscription import (
    SubscriptionSpec,
    parse_subscription,
    with_secret,
    without_secret,
)
from app.fhir.subscription_topics import SUBSCRIPTION_PROFILE
from app.notify import outbox, ssrf, wake
from app.notify.notification import status_bundle, status_parameters
from app.notify.signing import new_secret, secret_problem
from app.rules import RuleSet
from app.services.common.answer import Answer
from app.services.common.version import Version
from app.store import agency_repo, outbox_repo, subscriptions_repo
from app.store.webhook_models import AgencyBinding, WebhookSubscription

MAX_LISTED = 1000


@dataclass(frozen=True)
class SubscriptionContext:
    now: datetime
    fhir_base: str
    allowed_networks: tuple[ssrf.IPNetwork, ...]
    rules: RuleSet | None
    secret_overlap: timedelta = timedelta(hours=24)


def create(
    session: Session, who: Principal, data: dict[str, Any], ctx: SubscriptionContext
) -> Answer[Version]:
    """Register a subscription for the calling agency and queue its handshake."""
    agency = agency_repo.binding(session, who.id) if who.kind == "client" else None
    if agency is None:
        raise FhirError.one(
            403,
            "forbidden",
            "Only a client registered as an agency (wnb client add --role agency "
            "--agency-type T --area CODE) can subscribe.",
        )
    spec = _checked(data, agency, ctx)
    secret = spec.secret or new_secret()
    sub_id = uuid.uuid4().hex
    stored = {**without_secret(data), "id": sub_id}
    stored.pop("meta", None)
    row = WebhookSubscription(
        id=sub_id,
        client_id=who.id,
        status="requested",
        topic=spec.topic,
        filters=orjson.dumps(spec.filters).decode(),
        endpoint=spec.endpoint,
        headers=orjson.dumps(spec.headers).decode(),
        payload=spec.payload,
        secret=secret,
        content=orjson.dumps(stored).decode(),
        fhir_base=ctx.fhir_base,
        events_since_start=0,
        consecutive_failures=0,
        version=1,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    subscriptions_repo.add(session, row)
    outbox_repo.add_messages(session, [outbox.handshake_message(row, ctx.now)])
    wake.on_commit(session)
    body = with_secret(render(row), secret)
    return Answer(Version(sub_id, 1, ctx.now, orjson.dumps(body)), [f"Subscription/{sub_id}"])


def update(
    session: Session, who: Principal, sub_id: str, data: dict[str, Any], ctx: SubscriptionContext
) -> Answer[Version]:
    """Change a subscription (PUT). A new secret rotates: the old one keeps signing too for
    the overlap. A new endpoint, or a subscription in error or off, starts again with a
    handshake (so this is also how an agency resumes after fixing its receiver)."""
    row = owned(session, who, sub_id, lock=True)
    agency = agency_repo.binding(session, row.client_id)
    if agency is None:
        raise FhirError.one(404, "not-found", f"Subscription/{sub_id} is not known.", "id")
    if data.get("id") not in (None, sub_id):
        raise FhirError.one(
            400, "invalid", "The id in the body must match the URL.", "Subscription.id"
        )
    spec = _checked(data, agency, ctx)
    changes: dict[str, Any] = {
        "topic": spec.topic,
        "filters": orjson.dumps(spec.filters).decode(),
        "endpoint": spec.endpoint,
        "headers": orjson.dumps(spec.headers).decode(),
        "payload": spec.payload,
        "content": orjson.dumps({**without_secret(data), "id": sub_id}).decode(),
        "version": row.version + 1,
        "updated_at": ctx.now,
    }
    if spec.secret is not None and spec.secret != row.secret:
        changes.update(
            secret=spec.secret,
            previous_secret=row.secret,
            previous_secret_until=ctx.now + ctx.secret_overlap,
        )
    restart = spec.endpoint != row.endpoint or row.status in ("error", "off")
    if restart:
        changes.update(status="requested", error=None, consecutive_failures=0)
    subscriptions_repo.change(session, row.pk, changes)
    session.refresh(row)
    if restart:
        outbox_repo.add_messages(session, [outbox.handshake_message(row, ctx.now)])
        wake.on_commit(session)
    return read(session, who, sub_id)


def _checked(
    data: dict[str, Any], agency: AgencyBinding, ctx: SubscriptionContext
) -> SubscriptionSpec:
    spec = parse_subscription(data)
    _check_entitlement(spec.filters, spec.payload, agency, ctx.rules)
    try:
        ssrf.resolve(spec.endpoint, ctx.allowed_networks)
    except ssrf.EndpointRefused as exc:
        raise FhirError.one(
            422, "business-rule", str(exc), "Subscription.channel.endpoint"
        ) from None
    if spec.secret is not None and (problem := secret_problem(spec.secret)):
        raise FhirError.one(422, "business-rule", problem, spec.secret_at)
    return spec


def read(session: Session, who: Principal, sub_id: str) -> Answer[Version]:
    row = owned(session, who, sub_id)
    shown = Version(row.id, row.version, row.updated_at, orjson.dumps(render(row)))
    return Answer(shown, [f"Subscription/{row.id}"])


def listed(session: Session, who: Principal, base: str) -> Answer[bytes]:
    """A searchset of the caller's subscriptions (an admin: everyone's)."""
    rows = subscriptions_repo.listed(session, None if _is_admin(who) else who.id, MAX_LISTED)
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(rows),
        "link": [{"relation": "self", "url": f"{base}/Subscription"}],
        "entry": [
            {
                "fullUrl": f"{base}/Subscription/{r.id}",
                "resource": render(r),
                "search": {"mode": "match"},
            }
            for r in rows
        ],
    }
    refs = [f"Subscription/{r.id}" for r in rows]
    return Answer(orjson.dumps(body), refs)


def status(session: Session, who: Principal, sub_id: str) -> Answer[bytes]:
    """`$status`: state, the latest event number and the error, if any."""
    row = owned(session, who, sub_id)
    params = status_parameters(
        row.fhir_base,
        row.id,
        row.topic,
        row.status,
        "query-status",
        row.events_since_start,
        error=row.error,
    )
    body = status_bundle(row.fhir_base, params)
    return Answer(orjson.dumps(body), [f"Subscription/{row.id}"])


def owned(session: Session, who: Principal, sub_id: str, lock: bool = False) -> WebhookSubscription:
    """The subscription if the caller owns it (or is an admin); else 404."""
    row = subscriptions_repo.by_id(session, sub_id, lock=lock)
    if row is None or not (_is_admin(who) or row.client_id == who.id):
        raise FhirError.one(404, "not-found", f"Subscription/{sub_id} is not known.", "id")
    return row


def render(row: WebhookSubscription) -> dict[str, Any]:
    """The stored Subscription with its current status and error; never the secret."""
    data: dict[str, Any] = orjson.loads(row.content)
    data["status"] = row.status
    if row.error:
        data["error"] = row.error
    else:
        data.pop("error", None)
    data["meta"] = {
        "versionId": str(row.version),
        "lastUpdated": fhir_instant(row.updated_at),
        "profile": [SUBSCRIPTION_PROFILE],
    }
    return data


def _is_admin(who: Principal) -> bool:
    return who.role == "admin"


def _check_entitlement(
    filters: dict[str, list[str]], payload: str, agency: AgencyBinding, rules: RuleSet | None
) -> None:
    """A filter may narrow the agency's entitlement, never widen it."""
    where = "Subscription._criteria"
    outside = set(filters.get("area", ())) - set(agency.areas.split())
    if outside:
        raise FhirError.one(
            422,
            "business-rule",
            f"Area(s) {', '.join(sorted(outside))} are not among the areas this agency serves.",
            where,
        )
    if rules is not None:
        named = {r.id: r for r in rules.rules}
        for rule_id in filters.get("rule", ()):
            rule = named.get(rule_id)
            if rule is None or agency.agency_type not in rule.agencies:
                raise FhirError.one(
                    422,
                    "business-rule",
                    f"Rule {rule_id!r} is not a rule that concerns a {agency.agency_type} agency.",
                    where,
                )
    if payload == "full-resource" and not agency.full_resource:
        raise FhirError.one(
            422,
            "business-rule",
            "This agency is registered for id-only notifications.",
            "Subscription.channel._payload",
        )
