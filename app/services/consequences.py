"""What follows from a write, in the same transaction: families for new patients, family
links from carers, households and merged records, safeguarding statuses from Flags, events
coded again after a birth date changed; and the patients whose families' flags must be
judged again because a fact a rule reads changed. `reconcile.settle` judges them before the
unit of work commits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.statuses import status_of
from app.services import family
from app.services.recode import recode_patients
from app.services.writes import Planned, WriteContext
from app.store import reconcile_repo, rules_repo

TOUCHED = "wnb.touched"  # session.info key: patients whose families must be reconciled


def touch(session: Session, patient_ids: Iterable[str]) -> None:
    session.info.setdefault(TOUCHED, set()).update(patient_ids)


def take_touched(session: Session) -> set[str]:
    return session.info.pop(TOUCHED, None) or set()


def after_write(
    session: Session, plans: list[Planned], removed_events_of: set[str], ctx: WriteContext
) -> None:
    """Keep families, statuses and codes in line with `plans` (just written), and touch
    every patient whose family's facts changed (`removed_events_of`: children whose coded
    events the write replaced or removed)."""
    touched: set[str] = set(removed_events_of)
    created = [p.id for p in plans if p.request.type == "Patient" and p.version == 1]
    family.add_patients(session, created, ctx.now)
    patients = [p for p in plans if p.request.type == "Patient"]
    if patients:
        reconcile_repo.set_aliases(
            session,
            [p.id for p in patients],
            [m for p in patients for m in family.merges_of(p.id, p.request.data)],
        )
    for p in plans:
        kind, data = p.request.type, p.request.data
        if kind in ("RelatedPerson", "Group", "Patient"):
            links = family.links_of(kind, p.id, data, ctx.now, ctx.terms.links_carer)
            touched |= family.update_links(session, f"{kind}/{p.id}", links, ctx.now)
        if kind == "Flag" and p.existing_pk is not None:
            touched |= _replace_status(session, p.existing_pk, data, ctx)
        touched.update(o.child_id for o in p.outcomes)  # every participant of a joint one
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
    """The status a Flag states replaces what its previous version stated. An inactive Flag
    with no end date ends when first stored as inactive: a re-send does not move the end."""
    old = rules_repo.delete_status(session, resource_pk)
    status = status_of(data, ctx.terms, ctx.now)
    if status is None:
        return {child for child, _ in old}
    end = status.end
    if status.inactive and end is None:
        end = next((e for child, e in old if child == status.child_id and e), ctx.now)
    rules_repo.add_status(
        session,
        resource_pk,
        {"child_id": status.child_id, "status": status.status, "start": status.start, "end": end},
    )
    return {child for child, _ in old} | {status.child_id}
