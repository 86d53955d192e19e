"""`$events`: a subscriber re-fetches its own events by number after a gap (Subscriptions
Backport IG). The answer is id-only whatever the payload: the Flags are fetched, and audited,
one by one with the agency's token, as after any notification."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.fhir.numbers import whole_number
from app.notify.notification import events_of, notification_bundle
from app.services.agencies.subscriptions import owned
from app.services.common.answer import Answer
from app.store import outbox_repo

MAX_EVENTS = 100  # per answer; a longer gap is fetched in several ranges
NUMBERS = ("eventsSinceNumber", "eventsUntilNumber")
EVENT_NUMBER_DIGITS = 18  # event numbers are BIGINT


def events(
    session: Session, who: Principal, sub_id: str, params: list[tuple[str, str]], now: datetime
) -> Answer[bytes]:
    """The caller's own subscription's events numbered since..until (both inclusive; by
    default the first and the latest), lowest first, at most MAX_EVENTS of them."""
    asked = _parameters(params)
    row = owned(session, who, sub_id)
    since = asked.get("eventsSinceNumber", 1)
    until = asked.get("eventsUntilNumber", row.events_since_start)
    if until < since:
        raise FhirError.one(
            400, "invalid", "eventsUntilNumber is below eventsSinceNumber.", "eventsUntilNumber"
        )
    found = [
        e
        for message in outbox_repo.events_between(session, row.pk, since, until, MAX_EVENTS)
        for e in events_of(message.body)
    ]
    body = notification_bundle(
        row.fhir_base,
        row.id,
        row.topic,
        "query-event",
        row.events_since_start,
        now,
        found,
        status_code=row.status,
    )
    return Answer(orjson.dumps(body), [f"Subscription/{row.id}"])


def _parameters(params: list[tuple[str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in params:
        if name == "content":
            if value != "id-only":
                raise FhirError.one(
                    400, "not-supported", "$events answers content id-only only.", "content"
                )
            continue
        if name not in NUMBERS:
            raise FhirError.one(
                400,
                "not-supported",
                f"Unknown parameter {name!r}; $events takes {', '.join(NUMBERS)} and content.",
                name,
            )
        number = whole_number(value, EVENT_NUMBER_DIGITS)
        if number is None or number < 1 or name in out:
            raise FhirError.one(
                400, "invalid", f"{name} is one whole number from 1 (at most 18 digits).", name
            )
        out[name] = number
    return out
