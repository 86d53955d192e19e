"""Family links that change with time or with the terminology: a carer's or a household
membership's period starts or ends, or an identifier is listed (or no longer listed) as one
that links no one. Each such source carries a durable mark (`links_repo`); when it is due,
its links are worked out again from its stored resource and the families it touches are
marked for reconciliation, so the flags follow even when nothing new is sent."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from app.fhir.terminology import Terminology
from app.services.common.writes import WriteContext
from app.services.records import family
from app.store import links_repo, reconcile_repo, resources_repo

LINKS_KEY = "links-fingerprint"
# Bump when what `family.links_of` reads changes, so every stored source is worked out again.
LINKS_LOGIC = "2: periods start and end; actual=false groups link no one"


def relink_due(session: Session, ctx: WriteContext, limit: int) -> int:
    """Work out again the links of the sources whose mark is due, set their next boundary,
    and mark the patients whose families changed for reconciliation now. Flushes only.
    Returns how many sources were taken."""
    sources = links_repo.claim_due(session, ctx.now, limit)
    if not sources:
        return 0
    by_type: dict[str, list[str]] = {}
    for source in sources:
        type_name, _, rid = source.partition("/")
        by_type.setdefault(type_name, []).append(rid)
    stored = {
        f"{type_name}/{rid}": orjson.loads(row.content)
        for type_name, ids in by_type.items()
        for rid, row in resources_repo.by_ids_for_update(session, type_name, ids).items()
    }
    touched: set[str] = set()
    boundaries: dict[str, datetime | None] = {}
    for source in sources:
        type_name, _, rid = source.partition("/")
        data = stored.get(source)
        links = (
            family.links_of(type_name, rid, data, ctx.now, ctx.terms.links_carer) if data else []
        )
        touched |= family.update_links(session, source, links, ctx.now)
        boundaries[source] = family.next_boundary(type_name, data, ctx.now) if data else None
    links_repo.set_due(session, boundaries)
    reconcile_repo.mark(session, touched, ctx.now)
    return len(sources)


def links_fingerprint(terms: Terminology) -> str:
    listed = sorted(f"{c.system}|{c.value}" for c in terms.never_link_carers)
    return hashlib.sha256(orjson.dumps([LINKS_LOGIC, listed])).hexdigest()


def note_links_version(session: Session, terms: Terminology, now: datetime) -> int:
    """When the identifiers that link no one (or the way links are read) differ from those
    last applied, every carer and household is worked out again in the background, as a new
    rules version re-judges every family. Returns how many were marked."""
    if not reconcile_repo.swap_state_value(session, LINKS_KEY, links_fingerprint(terms)):
        return 0
    return links_repo.mark_every_source(session, now)
