"""The people around a child that the status banner names: the child's carers with how to
reach them, the other adults of the household (carers of the brothers and sisters, adults in
a household Group), and who was expected to bring the child to the latest missed
appointment (its RelatedPerson participant, when the source sent one). Serious case reviews
keep finding fathers and other adults missing from the picture: these put them on it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.references import split_local
from app.fhir.terminology import MISSED
from app.services.common.answer import Answer
from app.services.nurse.chronology import household_adult, is_adult
from app.services.nurse.family_carers import carers_of, contact_of
from app.services.nurse.shapes.chronology import Carer, ChronologyItem, EventItem
from app.services.nurse.shapes.concern import ChildSummary
from app.store import resources_repo, worklist_repo


def household(
    session: Session,
    patient_id: str,
    items: Iterable[ChronologyItem],
    siblings: list[ChildSummary],
    carers: list[Carer],
    now: datetime,
) -> Answer[dict[str, Any]]:
    """`siblings` and `carers` as `relatives` gives them; the answer names everyone shown."""
    adults = other_adults(session, patient_id, siblings, carers, now)
    body = {"other_adults": adults, "brought_by": brought_by(session, items, carers)}
    refs = {ref for a in adults for ref in a.related_persons}
    refs |= {f"Patient/{a.patient_id}" for a in adults if a.patient_id}
    return Answer(body, sorted(refs))


def other_adults(
    session: Session,
    patient_id: str,
    siblings: list[ChildSummary],
    carers: list[Carer],
    now: datetime,
) -> list[Carer]:
    own = {c.key for c in carers} | {c.patient_id for c in carers if c.patient_id}
    kids = [s.id for s in siblings if not is_adult(s, now)]
    theirs = [c for c in carers_of(session, kids) if c.key not in own]
    listed = own | {c.patient_id for c in theirs if c.patient_id}
    grown = [s for s in siblings if is_adult(s, now) and s.id not in listed]
    stored = worklist_repo.patients(session, [s.id for s in grown])
    for s in grown:
        found = stored.get(s.id)
        contact = contact_of(orjson.loads(found.content)) if found else {}
        theirs.append(household_adult(s, [], ["household-member"], contact))
    return theirs


def brought_by(
    session: Session, items: Iterable[ChronologyItem], carers: list[Carer]
) -> dict[str, Any] | None:
    """The RelatedPerson participant of the child's latest missed appointment: by the carer's
    name and relationship when known here, else the reference's display."""
    missed = [
        i
        for i in items
        if isinstance(i, EventItem)
        and i.category in MISSED
        and i.resource.startswith("Appointment/")
    ]
    if not missed:
        return None
    latest = max(missed, key=lambda i: i.at)
    stored = resources_repo.current(session, "Appointment", latest.resource.split("/", 1)[1])
    data = orjson.loads(stored.content) if stored else {}
    for p in data.get("participant") or []:
        actor = p.get("actor") if isinstance(p, dict) else None
        if not isinstance(actor, dict):
            continue
        local = split_local(actor.get("reference") or "")
        if (local and local[0] == "RelatedPerson") or actor.get("type") == "RelatedPerson":
            ref = f"RelatedPerson/{local[1]}" if local else None
            carer = next((c for c in carers if ref in c.related_persons), None)
            name = carer.name if carer else actor.get("display")
            relationships = carer.relationships if carer else []
            return {"at": latest.at, "name": name, "relationships": relationships}
    return None
