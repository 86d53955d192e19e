"""What one attempt's result does to its message and its subscription: delivered, retried
later, dead-lettered; the subscription activated, put in error or switched off."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.notify.delivery import AttemptResult
from app.notify.retry import RetryPolicy
from app.store import outbox_repo, subscriptions_repo
from app.store.outbox_repo import Claimed


def settle_attempt(
    session: Session,
    claimed: Claimed,
    token: str,
    result: AttemptResult,
    now: datetime,
    policy: RetryPolicy,
    failures_before_error: int,
) -> str:
    """Record the attempt and apply its result; the message's new state ("lost" when the
    lease ran out and another worker owns the message now)."""
    msg, sub = claimed.message, claimed.subscription
    attempts = msg.attempts + 1
    outbox_repo.add_attempt(
        session,
        {
            "message_pk": msg.pk,
            "subscription_pk": sub.pk,
            "at": now,
            "status_code": result.status_code,
            "latency_ms": result.latency_ms,
            "response": result.response,
            "error": result.error[:500] if result.error else None,
        },
    )
    if result.ok:
        done = {"state": "delivered", "attempts": attempts, "delivered_at": now}
        if not outbox_repo.finish(session, msg.pk, token, {**done, "last_error": None}):
            return "lost"
        if msg.kind == "handshake":
            subscriptions_repo.change(
                session,
                sub.pk,
                {"status": "active", "error": None, "updated_at": now, "consecutive_failures": 0},
            )
        else:
            # Only a run of failures needs resetting: every delivery writing the subscription's
            # row would make concurrent deliveries to one agency queue on its row lock.
            subscriptions_repo.reset_failures(session, sub.pk)
        return "delivered"
    reason = result.reason[:500]
    if msg.kind == "handshake":
        # The endpoint must prove it is there and willing before any event is sent to it.
        if not outbox_repo.finish(
            session, msg.pk, token, {"state": "dead", "attempts": attempts, "last_error": reason}
        ):
            return "lost"
        _error(session, sub.pk, f"handshake failed: {reason}", now)
        return "dead"
    if result.status_code == 410:
        # The receiver says the endpoint is gone for good: stop; the message waits.
        values = {"attempts": attempts, "last_error": reason, "next_attempt_at": now}
        if not outbox_repo.finish(session, msg.pk, token, values):
            return "lost"
        subscriptions_repo.change(
            session,
            sub.pk,
            {"status": "off", "error": "the endpoint answered 410 Gone", "updated_at": now},
        )
        return "pending"
    delay = policy.delay_after(attempts, result.retry_after)
    values = {"attempts": attempts, "last_error": reason}
    if delay is None:
        values["state"] = "dead"
    else:
        values["next_attempt_at"] = now + timedelta(seconds=delay)
    if not outbox_repo.finish(session, msg.pk, token, values):
        return "lost"
    failures = subscriptions_repo.count_failure(session, sub.pk)
    if failures >= failures_before_error:
        _error(session, sub.pk, f"{failures} deliveries failed in a row; last: {reason}", now)
    return "dead" if delay is None else "pending"


def _error(session: Session, sub_pk: int, reason: str, now: datetime) -> None:
    subscriptions_repo.change(
        session, sub_pk, {"status": "error", "error": reason[:500], "updated_at": now}
    )
