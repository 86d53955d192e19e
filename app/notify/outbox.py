"""The transactional outbox: a flag change and the notifications it causes are written in
one transaction, so nothing is sent unless the change committed and nothing committed is lost."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.new_id import time_ordered_uuid
from app.notify import wake
from app.notify.entitlement import concerns
from app.notify.events import FlagEvent
from app.notify.live import LiveSubscription, live_subscriptions
from app.notify.notification import NotificationEvent, notification_bundle
from app.notify.topics import carries
from app.store import agency_repo, outbox_repo, subscriptions_repo
from app.store.webhook_models import WebhookSubscription


def enqueue_flag_events(session: Session, events: list[FlagEvent]) -> None:
    """Write one outbox message per (subscription, event) the event is for: the agency's
    entitlement (its type named by the rule, the flag in its areas), the subscription's topic
    and filter. Flushes only; the caller's transaction commits (or discards) it all."""
    if not events:
        return
    agency_repo.remember_flag_areas(session, {(e.flag_id, a) for e in events for a in e.areas})
    live = live_subscriptions(session)
    if not live:
        return
    planned: list[tuple[LiveSubscription, FlagEvent]] = []
    for e in sorted(events, key=lambda e: (e.at, e.child_id, e.flag_id)):
        planned.extend((sub, e) for sub in live if _wanted(sub, e))
    if not planned:
        return
    counts: dict[int, int] = defaultdict(int)
    for sub, _ in planned:
        counts[sub.pk] += 1
    totals = subscriptions_repo.advance_event_numbers(session, counts)
    numbers = {pk: totals[pk] - counts[pk] for pk in counts}  # the number before this batch
    rows: list[dict[str, Any]] = []
    for sub, e in planned:
        numbers[sub.pk] += 1
        rows.append(event_message(sub, e, numbers[sub.pk], e.at))
    outbox_repo.add_messages(session, rows)
    wake.on_commit(session)


def event_message(
    sub: LiveSubscription, event: FlagEvent, number: int, now: datetime
) -> dict[str, Any]:
    """An outbox row for one event. The body is fixed now, so every retry is the same bytes."""
    focus = f"Flag/{event.flag_id}"
    body = notification_bundle(
        sub.fhir_base,
        sub.id,
        sub.topic,
        "event-notification",
        number,
        now,
        [NotificationEvent(number, event.at, focus)],
    )
    # The version is kept so that a full-resource payload sends the Flag as this change left
    # it, the same on every retry.
    versioned = f"{focus}/_history/{event.flag_version}"
    row = _row(sub.pk, "event-notification", event.child_id, body, now, number, versioned)
    return {**row, "flag_id": event.flag_id}


def handshake_message(sub: WebhookSubscription, now: datetime) -> dict[str, Any]:
    """An outbox row for a subscription's handshake (delivered while it is `requested`)."""
    # The Backport IG: a handshake states the subscription as it is while waiting for it.
    body = notification_bundle(
        sub.fhir_base, sub.id, sub.topic, "handshake", 0, now, status_code="requested"
    )
    return _row(sub.pk, "handshake", "handshake", body, now, None, None)


def _wanted(sub: LiveSubscription, event: FlagEvent) -> bool:
    return (
        carries(sub.topic, event.kind)
        and concerns(sub.agency_type, sub.areas, event)
        and sub.filters.matches(event, sub.agency_type)
    )


def _row(
    sub_pk: int,
    kind: str,
    order_key: str,
    body: dict[str, Any],
    now: datetime,
    number: int | None,
    focus: str | None,
) -> dict[str, Any]:
    return {
        "msg_id": f"msg_{time_ordered_uuid().hex}",
        "subscription_pk": sub_pk,
        "kind": kind,
        "order_key": order_key,
        "event_number": number,
        "focus": focus,
        "flag_id": None,
        "body": orjson.dumps(body).decode(),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
