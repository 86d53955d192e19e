"""What follows from a write, in the same transaction: families for new patients, family
links from carers, households and merged records, safeguarding statuses from Flags, events
coded again after a birth date changed; and the patients whose families' flags must be
judged again because a fact a rule reads changed. `reconcile.settle` judges them before the
unit of work commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.statuses import status_of
from app.services.common.unit_of_work import touch
from app.services.common.writes import Planned, WriteContext
from app.services.records import family, merges
from app.services.records.recode import recode_patients
from app.store import family_repo, links_repo, rules_repo


def after_write(
    session: Session, plans: list[Planned], removed_events_of: set[str], ctx: WriteContext
) -> None:
    """Keep families, statuses and codes in line with `plans` (just written), and touch
    every patient whose family's facts changed (`removed_events_of`: children whose coded
    events the write replaced or removed)."""
    touched: set[str] = set(removed_events_of)
    created = [p.id for p in plans if p.request.type == "Patient" and p.version == 1]
    family.add_patients(session, created, ctx.now)
    merges_changed: set[str] = set()  # patients named by a Patient.link that came or went
    boundaries: dict[str, datetime | None] = {}
    for p in plans:
        kind, data = p.request.type, p.request.data
        if kind in ("RelatedPerson", "Group", "Patient"):
            source = f"{kind}/{p.id}"
            links = family.links_of(kind, p.id, data, ctx.now, ctx.terms.links_carer)
            changed = family_repo.replace_links(session, source, links)
            if changed:
                touched |= family.regroup(session, changed, ctx.now)
                if kind == "Patient":
                    merges_changed.update(changed)
            if kind != "Patient":
                at = family.next_boundary(kind, data, ctx.now)
                if at is not None or p.version > 1:  # a first version has no mark to clear
                    boundaries[source] = at
        if kind == "Flag" and p.existing_pk is not None:
            touched |= _replace_status(session, p.existing_pk, data, ctx)
        touched.update(o.child_id for o in p.outcomes)  # every participant of a joint one
    links_repo.set_due(session, boundaries)
    if merges_changed:
        # Whichever side stated the merge, and whichever side undoes it, both records'
        # families are judged again (`regroup` touched them).
        stated = links_repo.refresh_aliases(session, merges_changed)
        merges.refuse_cycles(session, stated, [p for p in plans if p.request.type == "Patient"])
        merges.carry_owners(session, stated)
    patients = [p for p in plans if p.request.type == "Patient"]
    updated = [p.id for p in patients if p.version > 1]
    if updated:
        # A birth date, death or merge may have changed: the patient's family is judged again.
        touched.update(updated)
        touched |= recode_patients(session, updated, ctx.terms)
    if ctx.rules is not None:
        touch(session, touched)


def _replace_status(
    session: Session, resource_pk: int, data: dict[str, Any], ctx: WriteContext
) -> set[str]:
    """The status a Flag states replaces what its previous version stated.

    - With no start, it counts from when the service first learned of it (kept across
      re-sends), never without bound; the flags it supports say its period is unknown.
    - An inactive Flag ends at its `period.end`, else when first stored as inactive (a re-send
      does not move the end); but one the service never knew as active counts only for a
      period it states in full: an inactive plan with no dates was never a plan here.
    - Entered in error, or not about a Patient: no status.
    """
    old = rules_repo.delete_status(session, resource_pk)
    children = {child for child, _, _ in old}
    status = status_of(data, ctx.terms, ctx.now)
    if status is None:
        return children
    before = next(((s, e) for child, s, e in old if child == status.child_id), None)
    if status.inactive and before is None and (status.start is None or status.end is None):
        return children
    start = status.start or (before[0] if before and before[0] else ctx.now)
    end = status.end
    if status.inactive and end is None:
        end = (before[1] if before else None) or ctx.now
    rules_repo.add_status(
        session,
        resource_pk,
        {
            "child_id": status.child_id,
            "status": status.status,
            "start": start,
            "end": end,
            "start_stated": status.start is not None,
        },
    )
    return children | {status.child_id}
