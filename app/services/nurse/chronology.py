"""Chronologies: one child's, or a whole family's (every child and their carers), as one
timeline of outcomes, safeguarding statuses, flags and reviews across services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.fhir.errors import FhirError
from app.services.access.users import display_names
from app.services.common.answer import Answer
from app.services.nurse import chronology_items as items
from app.services.nurse.child_summary import child_summary, children
from app.services.nurse.family_carers import carers_of
from app.services.nurse.identity_changes import identity_items
from app.services.nurse.organisation_names import name_items
from app.services.nurse.shapes.chronology import (
    Carer,
    ChildChronology,
    ChronologyItem,
    EventItem,
    FamilyChronology,
)
from app.services.nurse.shapes.concern import ChildSummary
from app.services.nurse.sharing import sharing_items
from app.store import chronology_repo, family_repo, flags_repo, worklist_repo

ADULT = 18  # years: a household member this old is a carer (matches terminology's adult age)


def child_chronology(session: Session, patient_id: str, now: datetime) -> Answer[ChildChronology]:
    child = _known_patient(session, patient_id, now)
    family_id = family_repo.families_of(session, [patient_id]).get(patient_id)
    body = ChildChronology(
        child=child, family_id=family_id, items=_timeline(session, [patient_id], {}, now)
    )
    return Answer(body, [f"Patient/{patient_id}"])


def family_chronology(session: Session, family_id: str, now: datetime) -> Answer[FamilyChronology]:
    if not chronology_repo.family_exists(session, family_id):
        raise FhirError.one(404, "not-found", f"Family {family_id} is not known.", "family_id")
    members = family_repo.members(session, [family_id])[family_id]
    everyone = children(session, members, now.date())
    # An adult in a household Group is a carer in every view, never one of the children.
    adults = [m for m in members if is_adult(everyone[m], now)]
    kids = [m for m in members if m not in adults]
    carers = carers_of(session, kids)
    listed = {c.patient_id for c in carers}
    carers += [household_adult(everyone[a], kids) for a in adults if a not in listed]
    # A carer who is also one of the family's patients is already on the timeline.
    carer_patients = {
        c.patient_id: c.key for c in carers if c.patient_id and c.patient_id not in kids
    }
    body = FamilyChronology(
        family_id=family_id,
        children=[everyone[m] for m in kids],
        carers=carers,
        items=_timeline(session, kids, carer_patients, now),
    )
    refs = {f"Patient/{p}" for p in [*members, *carer_patients]}
    refs |= {ref for c in carers for ref in c.related_persons}
    return Answer(body, sorted(refs))


def is_adult(person: ChildSummary, now: datetime) -> bool:
    birth = person.birth_date
    if birth is None or len(birth) < 10:
        return False  # unknown or partial: counted as a child (a missed flag is the danger)
    born = datetime.fromisoformat(birth[:10]).date()
    today = now.date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day)) >= ADULT


def household_adult(
    person: ChildSummary,
    kids: list[str],
    relationships: list[str] | None = None,
    contact: dict[str, list[str]] | None = None,
) -> Carer:
    """An adult of the household listed among the carers by their own Patient record, with
    the children they are known to care for and their contact details when read."""
    contact = contact or {}
    return Carer(
        key=f"Patient/{person.id}",
        identifier=None,
        name=person.name,
        relationships=relationships or [],
        related_persons=[],
        children=sorted(kids),
        active=True,
        patient_id=person.id,
        telecom=contact.get("telecom", []),
        address=contact.get("address", []),
    )


def family_chronology_of_child(
    session: Session, patient_id: str, now: datetime
) -> Answer[FamilyChronology]:
    _known_patient(session, patient_id, now)
    family_id = family_repo.families_of(session, [patient_id]).get(patient_id)
    if family_id is None:  # every stored patient has a family; this one predates families
        body = FamilyChronology(family_id=None, children=[], carers=[], items=[])
        return Answer(body, [f"Patient/{patient_id}"])
    return family_chronology(session, family_id, now)


def _known_patient(session: Session, patient_id: str, now: datetime) -> ChildSummary:
    found = worklist_repo.patients(session, [patient_id]).get(patient_id)
    if found is None:
        raise FhirError.one(404, "not-found", f"Patient/{patient_id} is not known.", "patient_id")
    return child_summary(patient_id, found, now.date())


def _timeline(
    session: Session, child_ids: Sequence[str], carers: dict[str, str], now: datetime
) -> list[ChronologyItem]:
    flags = chronology_repo.flags_of(session, child_ids)
    reviews = flags_repo.reviews_of(session, [f.pk for f in flags])
    stamps = chronology_repo.version_stamps(session, "Flag", [f.flag_id for f in flags])
    versions = chronology_repo.versions_by_key(
        session, "Flag", items.versions_needed(flags, stamps)
    )
    names = display_names(session)
    everything: list[ChronologyItem] = [
        *items.event_items(chronology_repo.events_of(session, [*child_ids, *carers]), carers),
        *items.status_items(chronology_repo.statuses_with_resources(session, child_ids), now),
        *items.flag_history_items(flags, versions),
        *items.review_items(reviews, flags, names),
        *identity_items(chronology_repo.versions_of(session, "Patient", child_ids)),
        *sharing_items(session, child_ids, flags, names),
    ]
    name_items(session, [i for i in everything if isinstance(i, EventItem)])
    return items.in_time_order(everything)
