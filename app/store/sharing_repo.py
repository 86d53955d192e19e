"""Queries over what each agency was told about a child: the webhook notifications about the
child's flags (from the outbox) and the sharing nurses recorded themselves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.store.auth_models import ApiClient
from app.store.case_models import SharingRecord
from app.store.webhook_models import AgencyBinding, WebhookMessage, WebhookSubscription

# (message, agency name, agency type or None, payload)
NotificationRow = Row[WebhookMessage, str, str | None, str]


def notifications_about(session: Session, flag_ids: Iterable[str]) -> Sequence[NotificationRow]:
    """Every event notification whose focus is a version of one of these flags, oldest
    first."""
    wanted = sorted(set(flag_ids))
    if not wanted:
        return []
    return session.execute(
        select(
            WebhookMessage, ApiClient.name, AgencyBinding.agency_type, WebhookSubscription.payload
        )
        .join(WebhookSubscription, WebhookSubscription.pk == WebhookMessage.subscription_pk)
        .join(ApiClient, ApiClient.client_id == WebhookSubscription.client_id)
        .outerjoin(AgencyBinding, AgencyBinding.client_id == ApiClient.client_id)
        .where(WebhookMessage.kind == "event-notification")
        .where(WebhookMessage.flag_id.in_(wanted))
        .order_by(WebhookMessage.created_at, WebhookMessage.pk)
    ).all()  # fmt: skip


def records_of(session: Session, child_ids: Iterable[str]) -> Sequence[SharingRecord]:
    wanted = sorted(set(child_ids))
    if not wanted:
        return []
    return session.scalars(
        select(SharingRecord)
        .where(SharingRecord.child_id.in_(wanted))
        .order_by(SharingRecord.shared_at, SharingRecord.pk)
    ).all()


def add_record(session: Session, record: SharingRecord) -> None:
    session.add(record)
