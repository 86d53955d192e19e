"""Coding a patient's events again after their Patient record changed (birth date)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.fhir.age_coding import recode
from app.fhir.terminology import Terminology
from app.store import events_repo, resources_repo


def recode_patients(session: Session, patient_ids: Iterable[str], terms: Terminology) -> set[str]:
    """Recode the events of these patients with their current birth dates; returns the
    patients whose events changed."""
    wanted = sorted(set(patient_ids))
    births = resources_repo.birth_spans(session, wanted)
    changed: list[dict[str, object]] = []
    for row in events_repo.events_of_patients(session, wanted):
        new = recode(row.category, row.event_at, births.get(row.child_id), terms)
        if (new.category, new.is_child, new.age_days, new.age_uncertain_days) != (
            row.category,
            row.is_child,
            row.age_days,
            row.age_uncertain_days,
        ):
            changed.append({"pk": row.pk, "child_id": row.child_id, **new.__dict__})
    events_repo.update_events(
        session, [{k: v for k, v in c.items() if k != "child_id"} for c in changed]
    )
    return {str(c["child_id"]) for c in changed}
