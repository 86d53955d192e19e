"""What waits for a subscription in `error` is bounded. Its messages are not delivered while
it is in error (the endpoint failed WNB_WEBHOOK_FAILURES_BEFORE_ERROR times in a row), so a
receiver gone for good made the outbox grow with every flag in its area, for ever. The
oldest are expired instead: marked `dead` (a failed delivery in the child's chronology,
never sent), beyond WNB_WEBHOOK_ERROR_BACKLOG messages per subscription or older than
WNB_WEBHOOK_ERROR_BACKLOG_HOURS. Nothing is lost to the agency that comes back: each keeps
its event number, so it sees the gap and fetches it with `$events`, or an operator replays
it (`POST /api/subscriptions/{id}/replay`).

Kept apart from enqueueing on purpose: a periodic pass bounds the backlog without adding a
count to every flag change's transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.store import error_backlog_repo

log = logging.getLogger("wnb.webhooks")


def expire_error_backlogs(session: Session, now: datetime, keep: int, max_age: timedelta) -> int:
    """Expire the messages waiting for subscriptions in error: those older than `max_age`,
    then all but the newest `keep` of each. Returns how many; flushes only."""
    aged = error_backlog_repo.expire_older_than(
        session, now - max_age, now, f"expired: waited over {max_age} for a subscription in error"
    )
    crowded = error_backlog_repo.expire_beyond(
        session, keep, now, f"expired: over {keep} messages waiting for a subscription in error"
    )
    if aged or crowded:
        log.warning(
            "expired %d messages waiting for subscriptions in error (%d by age, %d by count)",
            aged + crowded,
            aged,
            crowded,
        )
    return aged + crowded
