"""Queries over the webhook outbox and its delivery attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.store.auth_models import ApiClient
from app.store.changed import rows_changed
from app.store.webhook_models import DeliveryAttempt, WebhookMessage, WebhookSubscription

# Which messages a subscription's state lets through: its handshake while requested, events
# once active. Messages of a subscription in error or off wait (nothing is lost).
DELIVERABLE = or_(
    and_(WebhookMessage.kind == "handshake", WebhookSubscription.status == "requested"),
    and_(WebhookMessage.kind != "handshake", WebhookSubscription.status == "active"),
)


@dataclass(frozen=True)
class Claimed:
    message: WebhookMessage
    subscription: WebhookSubscription


def add_messages(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(WebhookMessage), rows)


def claim_due(
    session: Session, now: datetime, limit: int, lease_until: datetime, token: str
) -> list[Claimed]:
    """Lease up to `limit` due messages to one worker until `lease_until`. On PostgreSQL the
    rows are locked FOR UPDATE SKIP LOCKED, so concurrent workers take different rows; the
    lease (not a lock) then covers the HTTP call. A message waits while an earlier message of
    the same child to the same subscription is pending: one child's events arrive in order."""
    earlier = aliased(WebhookMessage)
    blocked = (
        select(earlier.pk)
        .where(
            earlier.subscription_pk == WebhookMessage.subscription_pk,
            earlier.order_key == WebhookMessage.order_key,
            earlier.state == "pending",
            earlier.pk < WebhookMessage.pk,
        )
        .exists()
    )
    query = (
        select(WebhookMessage.pk)
        .join(WebhookSubscription, WebhookSubscription.pk == WebhookMessage.subscription_pk)
        .join(ApiClient, ApiClient.client_id == WebhookSubscription.client_id)
        .where(
            WebhookMessage.state == "pending",
            # A revoked agency is told nothing more, even if its rows escaped the revocation.
            ApiClient.revoked_at.is_(None),
            WebhookMessage.next_attempt_at <= now,
            or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now),
            DELIVERABLE,
            ~blocked,
        )
        .order_by(WebhookMessage.next_attempt_at, WebhookMessage.pk)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=WebhookMessage, skip_locked=True)
    pks = list(session.scalars(query))
    if not pks:
        return []
    session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.pk.in_(pks))
        .values(leased_until=lease_until, lease_token=token)
    )
    rows = session.execute(
        select(WebhookMessage, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.pk == WebhookMessage.subscription_pk)
        .where(WebhookMessage.pk.in_(pks))
        .order_by(WebhookMessage.pk)
    )
    return [Claimed(m, s) for m, s in rows]


def drop_pending_of_client(session: Session, client_id: str, reason: str) -> int:
    """Mark every pending message to one client's subscriptions dead (kept for the attempt
    log, never sent); how many."""
    subs = select(WebhookSubscription.pk).where(WebhookSubscription.client_id == client_id)
    return rows_changed(
        session,
        update(WebhookMessage)
        .where(WebhookMessage.state == "pending", WebhookMessage.subscription_pk.in_(subs))
        .values(state="dead", last_error=reason, leased_until=None, lease_token=None),
    )


def finish(session: Session, pk: int, token: str, values: dict[str, Any]) -> bool:
    """Apply the outcome of an attempt if the lease is still ours (False if it ran out and
    another worker took the message)."""
    done = rows_changed(
        session,
        update(WebhookMessage)
        .where(WebhookMessage.pk == pk, WebhookMessage.lease_token == token)
        .values(leased_until=None, lease_token=None, **values),
    )
    return done == 1


def add_attempt(session: Session, row: dict[str, Any]) -> None:
    session.execute(insert(DeliveryAttempt), [row])


def attempts_of(
    session: Session, subscription_pk: int, limit: int, offset: int
) -> Sequence[tuple[DeliveryAttempt, WebhookMessage]]:
    """Newest attempts first, each with its message."""
    rows = session.execute(
        select(DeliveryAttempt, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.pk == DeliveryAttempt.message_pk)
        .where(DeliveryAttempt.subscription_pk == subscription_pk)
        .order_by(DeliveryAttempt.at.desc(), DeliveryAttempt.pk.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


def message(session: Session, subscription_pk: int, msg_id: str) -> WebhookMessage | None:
    return session.scalar(
        select(WebhookMessage).where(
            WebhookMessage.subscription_pk == subscription_pk, WebhookMessage.msg_id == msg_id
        )
    )


def requeue(
    session: Session,
    subscription_pk: int,
    now: datetime,
    msg_id: str | None = None,
    since: datetime | None = None,
    delivered: bool = False,
) -> int:
    """Send again (same webhook-id): one message, or every event message since a time (those
    delivered too only when `delivered`). Returns how many were queued."""
    query = update(WebhookMessage).where(
        WebhookMessage.subscription_pk == subscription_pk, WebhookMessage.kind != "handshake"
    )
    if msg_id is not None:
        query = query.where(WebhookMessage.msg_id == msg_id)
    if since is not None:
        query = query.where(WebhookMessage.created_at >= since)
        if not delivered:
            query = query.where(WebhookMessage.state != "delivered")
    return rows_changed(
        session,
        query.values(
            state="pending",
            attempts=0,
            next_attempt_at=now,
            leased_until=None,
            lease_token=None,
            delivered_at=None,
        ),
    )


def counts_by_state(session: Session, subscription_pk: int | None = None) -> dict[str, int]:
    query = select(WebhookMessage.state, func.count()).group_by(WebhookMessage.state)
    if subscription_pk is not None:
        query = query.where(WebhookMessage.subscription_pk == subscription_pk)
    return {state: n for state, n in session.execute(query)}


def oldest_pending_at(session: Session) -> datetime | None:
    return session.scalar(
        select(func.min(WebhookMessage.created_at)).where(WebhookMessage.state == "pending")
    )


def events_between(
    session: Session, subscription_pk: int, since: int, until: int, limit: int
) -> Sequence[WebhookMessage]:
    """A subscription's event notifications numbered since..until (inclusive), lowest first,
    whatever their delivery state: `$events` re-sends what a subscriber missed."""
    return session.scalars(
        select(WebhookMessage)
        .where(
            WebhookMessage.subscription_pk == subscription_pk,
            WebhookMessage.kind == "event-notification",
            WebhookMessage.event_number >= since,
            WebhookMessage.event_number <= until,
        )
        .order_by(WebhookMessage.event_number)
        .limit(limit)
    ).all()
