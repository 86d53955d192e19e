"""Queries over agencies' subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.store.auth_models import ApiClient
from app.store.prebuilt import Prebuilt
from app.store.webhook_models import AgencyBinding, SubscriptionVersion, WebhookSubscription

# A subscription in error still collects its events: they wait until the agency fixes its
# endpoint. One that is off (410 Gone, or switched off) collects nothing.
LIVE = ("requested", "active", "error")


def add(session: Session, row: WebhookSubscription) -> None:
    session.add(row)
    session.flush()


def by_id(session: Session, sub_id: str, lock: bool = False) -> WebhookSubscription | None:
    query = select(WebhookSubscription).where(WebhookSubscription.id == sub_id)
    return session.scalar(query.with_for_update() if lock else query)


def by_pk(session: Session, pk: int) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, pk)


def listed(session: Session, client_id: str | None, limit: int) -> Sequence[WebhookSubscription]:
    """Subscriptions of one client (None: every client's), oldest first."""
    query = select(WebhookSubscription).order_by(WebhookSubscription.pk).limit(limit)
    if client_id is not None:
        query = query.where(WebhookSubscription.client_id == client_id)
    return session.scalars(query).all()


def live_with_agency(
    session: Session,
) -> Sequence[tuple[WebhookSubscription, AgencyBinding]]:
    """Every subscription collecting events, with the binding of the agency that owns it.
    A revoked agency's subscriptions collect nothing, whatever their status says (revoking
    switches them off, but a row revoked by other means must not leak either)."""
    rows = session.execute(
        select(WebhookSubscription, AgencyBinding)
        .join(AgencyBinding, AgencyBinding.client_id == WebhookSubscription.client_id)
        .join(ApiClient, ApiClient.client_id == WebhookSubscription.client_id)
        .where(WebhookSubscription.status.in_(LIVE), ApiClient.revoked_at.is_(None))
        .order_by(WebhookSubscription.pk)
    )
    return [(s, b) for s, b in rows]


_STAMP = Prebuilt(lambda _: select(SubscriptionVersion.stamp).where(SubscriptionVersion.id == 1))


def stamp(session: Session) -> str | None:
    """The stamp the database's triggers change with every change to the live subscriptions
    (migration 0021): while it reads the same, so does `live_with_agency`. None: no stamp row."""
    found = _STAMP.rows(session)
    return found[0][0] if found else None


def advance_event_numbers(session: Session, counts: dict[int, int]) -> dict[int, int]:
    """Add `counts[pk]` events to each subscription; the new totals. Rows are updated in pk
    order so that two transactions never wait on each other in opposite orders."""
    totals: dict[int, int] = {}
    for pk in sorted(counts):
        totals[pk] = session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.pk == pk)
            .values(events_since_start=WebhookSubscription.events_since_start + counts[pk])
            .returning(WebhookSubscription.events_since_start)
        ).scalar_one()
    return totals


def switch_off_client(session: Session, client_id: str, reason: str, now: datetime) -> list[str]:
    """Switch off every subscription of one client that is not off already; their ids."""
    rows = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.client_id == client_id, WebhookSubscription.status != "off")
        .order_by(WebhookSubscription.pk)
        .with_for_update()
    ).all()
    for row in rows:
        row.status, row.error, row.updated_at = "off", reason, now
        row.version += 1
    session.flush()
    return [row.id for row in rows]


def change(session: Session, pk: int, values: dict[str, Any]) -> None:
    session.execute(
        update(WebhookSubscription).where(WebhookSubscription.pk == pk).values(**values)
    )


def count_failure(session: Session, pk: int) -> int:
    """One more consecutive failure; the new count."""
    return session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.pk == pk)
        .values(consecutive_failures=WebhookSubscription.consecutive_failures + 1)
        .returning(WebhookSubscription.consecutive_failures)
    ).scalar_one()


def reset_failures(session: Session, pk: int) -> None:
    """Back to no consecutive failures; touches (and locks) the row only if there were some."""
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.pk == pk, WebhookSubscription.consecutive_failures != 0)
        .values(consecutive_failures=0)
    )


def counts_by_status(session: Session) -> dict[str, int]:
    query = select(WebhookSubscription.status, func.count()).group_by(WebhookSubscription.status)
    return {status: n for status, n in session.execute(query)}
