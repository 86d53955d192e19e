"""Tables for partner agencies and their webhooks: who an agency is, what it subscribed to,
the transactional outbox of notifications and every delivery attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import PK, Base, UtcDateTime


class AgencyBinding(Base):
    """What a machine client with the agency role is: its agency type (the `agencies` words of
    the rule files) and the areas (organisation codes) it serves. No row, no flags."""

    __tablename__ = "agency_binding"
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_client.client_id", ondelete="CASCADE"), primary_key=True
    )
    agency_type: Mapped[str] = mapped_column(String(64))
    areas: Mapped[str] = mapped_column(Text)  # space-separated organisation codes
    full_resource: Mapped[bool] = mapped_column(Boolean)


class FlagArea(Base):
    """The areas (organisation codes) a raised flag concerns: the child's GP or managing
    organisation and its evidence's booking organisations. Decides which agency may see it."""

    __tablename__ = "flag_area"
    flag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(255), primary_key=True)

    __table_args__ = (Index("ix_flag_area_area", "area", "flag_id"),)


class WebhookSubscription(Base):
    """A FHIR R4 (backport) Subscription of one agency client, with its signing secret."""

    __tablename__ = "subscription"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_client.client_id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # requested | active | error | off
    topic: Mapped[str] = mapped_column(String(255))
    filters: Mapped[str] = mapped_column(Text)  # JSON {"rule": [...], "priority": [...], ...}
    endpoint: Mapped[str] = mapped_column(String(2000))
    headers: Mapped[str] = mapped_column(Text)  # JSON list of "Name: value"
    payload: Mapped[str] = mapped_column(String(16))  # id-only | full-resource
    secret: Mapped[str] = mapped_column(String(255))
    previous_secret: Mapped[str | None] = mapped_column(String(255))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    content: Mapped[str] = mapped_column(Text)  # the Subscription as accepted, secret removed
    fhir_base: Mapped[str] = mapped_column(String(255))  # where its notifications point
    events_since_start: Mapped[int] = mapped_column(BigInteger)
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookMessage(Base):
    """One notification in the outbox: written with the flag change, delivered by a worker.
    `msg_id` is the webhook-id, the same on every retry. `order_key` (the child) keeps one
    child's notifications to one subscription in order."""

    __tablename__ = "webhook_message"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    subscription_pk: Mapped[int] = mapped_column(ForeignKey("subscription.pk", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # handshake | event-notification | heartbeat
    order_key: Mapped[str] = mapped_column(String(64))
    event_number: Mapped[int | None] = mapped_column(BigInteger)
    focus: Mapped[str | None] = mapped_column(String(120))  # "Flag/id/_history/n"
    # The focus's Flag id, indexed: a chronology finds what each agency was told about a
    # child's concerns without scanning the outbox.
    flag_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # The claim query: pending rows due now, oldest first.
        Index(
            "ix_webhook_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # "Is an earlier message for this child still pending?" and $status/replay per subscription.
        Index("ix_webhook_order", "subscription_pk", "order_key", "pk"),
        Index("ix_webhook_flag", "flag_id"),
    )


class DeliveryAttempt(Base):
    """One HTTP attempt to deliver a message: the operators' attempt log."""

    __tablename__ = "delivery_attempt"
    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("webhook_message.pk", ondelete="CASCADE"), index=True
    )
    subscription_pk: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_delivery_attempt_sub", "subscription_pk", "at"),)


class SubscriptionVersion(Base):
    """One row: a stamp that triggers change (migration 0021) whenever a subscription, an
    agency's binding or a client's revocation changes, so the notifier may keep the live
    subscriptions in memory while the stamp stays the same."""

    __tablename__ = "subscription_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stamp: Mapped[str] = mapped_column(String(36))
