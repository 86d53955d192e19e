"""The live subscriptions, kept in memory per database while its subscription stamp stays the
same: a write that changes a flag pays one small read (the stamp), not the subscriptions.

Every change to who is notified (a subscription created, switched off or changed, an agency's
binding changed, a client revoked) changes the stamp in its own transaction, by trigger
(migration 0021). The stamp is read first and the list after it, in the writer's transaction:
the list is never older than the stamp it is kept under, so a process whose list is stale
reads a different stamp at its next write and reads the list again. Another process's change
is therefore seen by the first write that starts after it commits, exactly as when every
write read the list."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.notify.entitlement import Filters
from app.store import subscriptions_repo


@dataclass(frozen=True)
class LiveSubscription:
    """What enqueueing needs of a live subscription and its agency: plain values, never ORM
    rows (those belong to one session and expire with its commit)."""

    pk: int
    id: str
    topic: str
    fhir_base: str
    filters: Filters
    agency_type: str
    areas: tuple[str, ...]


_cache: weakref.WeakKeyDictionary[Engine, tuple[str, tuple[LiveSubscription, ...]]]
_cache = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def live_subscriptions(session: Session) -> tuple[LiveSubscription, ...]:
    """Every subscription collecting events, with its agency's type and areas (revoked
    clients' excluded), as of this transaction."""
    stamp = subscriptions_repo.stamp(session)
    engine = _engine(session)
    with _lock:
        kept = _cache.get(engine)
    if stamp is not None and kept is not None and kept[0] == stamp:
        return kept[1]
    live = tuple(
        LiveSubscription(
            pk=sub.pk,
            id=sub.id,
            topic=sub.topic,
            fhir_base=sub.fhir_base,
            filters=Filters.from_json(orjson.loads(sub.filters)),
            agency_type=agency.agency_type,
            areas=tuple(agency.areas.split()),
        )
        for sub, agency in subscriptions_repo.live_with_agency(session)
    )
    if stamp is not None:  # no stamp row (a schema without it): read every time
        with _lock:
            _cache[engine] = (stamp, live)
    return live


def _engine(session: Session) -> Engine:
    # One cache per database: a test runs its sessions on one Connection of the engine.
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind
