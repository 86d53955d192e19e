"""The status banner for a page that does not read the child's whole chronology (a concern's
page): the child's statuses and outcomes, carers and the household's other adults, read
here in the page's one transaction, so the banner says what the child page says."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.services.common.answer import Answer
from app.services.nurse import chronology_items as items
from app.services.nurse.household import household
from app.services.nurse.relatives import relatives
from app.services.nurse.status_banner import banner
from app.store import chronology_repo


def child_banner(session: Session, patient_id: str, now: datetime) -> Answer[dict[str, Any]]:
    """The banner (with `carers`); the answer names every person it shows."""
    statuses = items.status_items(
        chronology_repo.statuses_with_resources(session, [patient_id]), now
    )
    events = items.event_items(chronology_repo.events_of(session, [patient_id]))
    kin = relatives(session, patient_id, now)
    body = banner(session, patient_id, [*statuses, *events], now)
    people = household(session, patient_id, events, kin.body["siblings"], kin.body["carers"], now)
    body.update(people.body)
    body["carers"] = kin.body["carers"]
    carers = {ref for c in kin.body["carers"] for ref in c.related_persons}
    return Answer(body, sorted({f"Patient/{patient_id}", *carers, *people.references}))
