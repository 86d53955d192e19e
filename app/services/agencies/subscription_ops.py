"""Operators' view of a subscription's deliveries: the attempt log, and replay of what was
dead-lettered (or everything since a time), with the same webhook-id as first sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.dates import fhir_instant
from app.fhir.errors import FhirError
from app.notify import wake
from app.services.agencies.subscriptions import owned
from app.services.common.answer import Answer
from app.store import outbox_repo, subscriptions_repo


def attempts(
    session: Session, who: Principal, sub_id: str, count: int, offset: int
) -> Answer[dict[str, Any]]:
    """The newest delivery attempts (time, status, latency, truncated answer, error) and the
    messages' counts by state."""
    row = owned(session, who, sub_id)
    rows = outbox_repo.attempts_of(session, row.pk, count, offset)
    body = {
        "subscription": sub_id,
        "status": row.status,
        "error": row.error,
        "events_since_start": row.events_since_start,
        "messages": outbox_repo.counts_by_state(session, row.pk),
        "attempts": [
            {
                "at": fhir_instant(a.at),
                "webhook_id": m.msg_id,
                "kind": m.kind,
                "event_number": m.event_number,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "response": a.response,
                "error": a.error,
                "message_state": m.state,
            }
            for a, m in rows
        ],
    }
    return Answer(body, [f"Subscription/{sub_id}"])


def replay(
    session: Session,
    who: Principal,
    sub_id: str,
    message_id: str | None,
    since: datetime | None,
    now: datetime,
    include_delivered: bool = False,
) -> Answer[dict[str, int]]:
    """Queue one message (by webhook-id) or every event message since a time again; since a
    time, only those not delivered unless `include_delivered` (an agency that lost its copy)."""
    row = owned(session, who, sub_id, lock=True)
    if (message_id is None) == (since is None):
        raise FhirError.one(
            422, "business-rule", "Give either webhook_id or since (an instant).", "body"
        )
    if message_id is not None and outbox_repo.message(session, row.pk, message_id) is None:
        raise FhirError.one(
            404, "not-found", f"No message {message_id} for this subscription.", "body.webhook_id"
        )
    count = outbox_repo.requeue(
        session, row.pk, now, msg_id=message_id, since=since, delivered=include_delivered
    )
    if count:
        wake.on_commit(session)
    return Answer({"queued": count}, [f"Subscription/{sub_id}"])


def summary(session: Session, who: Principal, now: datetime) -> Answer[dict[str, Any]]:
    """Delivery progress across every subscription (admins): messages by state and how long
    the oldest pending one has waited."""
    if who.role != "admin":
        raise FhirError.one(403, "forbidden", "Only an admin sees every subscription's deliveries.")
    oldest = outbox_repo.oldest_pending_at(session)
    body = {
        "messages": outbox_repo.counts_by_state(session),
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 3) if oldest else None,
        "subscriptions": subscriptions_repo.counts_by_status(session),
    }
    return Answer(body)  # names no one: counts across every subscription


def outbox_progress(session: Session, now: datetime) -> tuple[dict[str, int], float]:
    """Webhook messages by state, and the age in seconds of the oldest pending one (0: none)."""
    oldest = outbox_repo.oldest_pending_at(session)
    return outbox_repo.counts_by_state(session), (now - oldest).total_seconds() if oldest else 0.0
