"""A child's relatives as the child page names them: brothers and sisters (the other children
of the child's family now) and the child's own carers. Cheaper than the family chronology:
no events are read. Only pages read it: its body is a dict of the API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.services.common.answer import Answer
from app.services.nurse.child_summary import children
from app.services.nurse.family_carers import carers_of
from app.store import family_repo


def relatives(session: Session, patient_id: str, now: datetime) -> Answer[dict[str, Any]]:
    family_id = family_repo.families_of(session, [patient_id]).get(patient_id)
    members = family_repo.members(session, [family_id]).get(family_id, []) if family_id else []
    others = [m for m in members if m != patient_id]
    kids = children(session, others, now.date())
    carers = [c for c in carers_of(session, [patient_id]) if patient_id in c.children]
    body = {
        "family_id": family_id,
        "siblings": [kids[m] for m in others],
        "carers": carers,
    }
    refs = {f"Patient/{m}" for m in [patient_id, *others]}
    refs |= {ref for c in carers for ref in c.related_persons}
    return Answer(body, sorted(refs))
