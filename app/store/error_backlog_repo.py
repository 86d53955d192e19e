"""Queries over the messages waiting for subscriptions in `error` (see notify/error_backlog)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from app.store.changed import rows_changed
from app.store.webhook_models import WebhookMessage, WebhookSubscription

_IN_ERROR = select(WebhookSubscription.pk).where(WebhookSubscription.status == "error")


def _waiting(now: datetime) -> ColumnElement[bool]:
    # Pending and not in a worker's hands: a delivery that started before the subscription
    # went into error settles by its lease, and must find the message as it left it.
    return and_(
        WebhookMessage.state == "pending",
        or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now),
    )


def expire_older_than(session: Session, before: datetime, now: datetime, reason: str) -> int:
    """Mark dead the messages waiting for a subscription in error since before `before`;
    how many."""
    return rows_changed(
        session,
        update(WebhookMessage)
        .where(
            _waiting(now),
            WebhookMessage.subscription_pk.in_(_IN_ERROR),
            WebhookMessage.created_at < before,
        )
        .values(state="dead", last_error=reason, leased_until=None, lease_token=None),
    )


def expire_beyond(session: Session, keep: int, now: datetime, reason: str) -> int:
    """Mark dead all but the newest `keep` messages waiting for each subscription in error;
    how many."""
    total = 0
    for sub_pk in session.scalars(_IN_ERROR.order_by(WebhookSubscription.pk)):
        oldest = (
            select(WebhookMessage.pk)
            .where(_waiting(now), WebhookMessage.subscription_pk == sub_pk)
            .order_by(WebhookMessage.pk.desc())
            .offset(keep)
        )
        total += rows_changed(
            session,
            update(WebhookMessage)
            .where(WebhookMessage.pk.in_(oldest))
            .values(state="dead", last_error=reason, leased_until=None, lease_token=None),
        )
    return total
